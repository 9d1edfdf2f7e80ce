/* idctl account: the accounts of the SNMS token login (src/node/account.h),
 * kept by the node and changed through its control socket. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "account_cmd.h"
#include "error.h"
#include "net.h"
#include "opcode.h"

#define NAME_MAX_LEN 50
#define PASS_MAX_LEN 64

static const char account_usage[] =
	"usage: idctl account add NAME --admin ADMIN_ID:INDEX "
	"[--password-file F] [--replace]\n"
	"       idctl account list [--json]\n"
	"       idctl account remove NAME\n"
	"\n"
	"Accounts log in to the national SNMS API (POST /identity/token and\n"
	"/identity/token/v1) and then act as the admin ADMIN_ID:INDEX, with\n"
	"its HS_ADMIN rights. The password (1..64 bytes) is asked for on the\n"
	"terminal, twice, or read from the first line of F (mode 0600); the\n"
	"node keeps a salted PBKDF2 hash of it (docs/snms-api.md).\n"
	"  --replace  change an existing account's admin and password\n";

const ctl_optdef_t account_opts[] = {
	{"password-file", 0, true},
	{"replace", 0, false},
	{"help", 'h', false},
	{NULL, 0, false},
};

static int account_err(const char *fmt, const char *arg)
{
	fprintf(stderr, "idctl: account: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

/* The first line of path, which only its owner may read. */
static int pass_from_file(const char *path, char *out, size_t cap)
{
	int fd = ctl_open_private("account: ", "", path);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

/* One line typed on the terminal without echo. */
static int prompt(FILE *tty, const char *what, char *out, size_t cap)
{
	struct termios old, quiet;
	int fd = fileno(tty);
	bool echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	fprintf(tty, "%s: ", what);
	fflush(tty);
	char *got = fgets(out, (int)cap, tty);
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	/* the Enter the hidden echo did not show */
	if (write(fd, "\n", 1) != 1)
		got = NULL;
	if (got == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

static int pass_from_tty(char *out, size_t cap)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		fprintf(stderr, "idctl: account: no terminal to ask for the "
				"password: give --password-file F\n");
		return -1;
	}
	char again[PASS_MAX_LEN + 2];
	int rc = prompt(tty, "Password", out, cap) ||
				 prompt(tty, "Password again", again,
					sizeof(again))
			 ? -1
			 : 0;
	if (rc == 0 && strcmp(out, again) != 0) {
		fprintf(stderr, "idctl: account: the passwords differ\n");
		rc = -1;
	}
	OPENSSL_cleanse(again, sizeof(again));
	fclose(tty);
	return rc;
}

/* Sends one request and prints the node's list of accounts. */
static int call(ctl_opts_t *o, uint32_t action, const char *name,
		idn_bytes_t admin, uint32_t index, const char *pass)
{
	const char *control = ctl_control_path(o);
	idn_arena_t a;
	idn_arena_init(&a, 0);
	uint8_t buf[2048];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_wr_u32(&w, action);
	idn_wr_str(&w, idn_bytes_str(name));
	idn_wr_str(&w, admin);
	idn_wr_u32(&w, index);
	idn_wr_str(&w, idn_bytes_str(pass));
	ctl_reply_t g;
	int err = w.err ? IDN_ETOOLONG
			: ctl_request(IDN_NET_UNIX, control,
				      ctl_timeout(o, CTL_TIMEOUT_MS),
				      IDN_OC_ACCOUNT, 0, &w, &a, &g);
	OPENSSL_cleanse(buf, sizeof(buf));
	int rc = 1;
	if (ctl_reply_check("account", control, err, &g) != 0)
		goto out;
	idn_rd_t r;
	idn_rd_init(&r, g.m.rest.p, g.m.rest.len);
	uint32_t n = idn_rd_count(&r, IDN_MSG_MAX / 12, 12);
	json_t *arr = json_array();
	for (uint32_t i = 0; i < n && !r.err; i++) {
		idn_bytes_t nm = idn_rd_str(&r, NAME_MAX_LEN);
		idn_bytes_t ad = idn_rd_str(&r, IDN_IDENT_MAX);
		uint32_t ix = idn_rd_u32(&r);
		if (r.err)
			break;
		json_t *e = json_object();
		json_object_set_new(e, "name",
				    json_stringn((const char *)nm.p, nm.len));
		json_object_set_new(e, "admin",
				    json_stringn((const char *)ad.p, ad.len));
		json_object_set_new(e, "index", json_integer(ix));
		json_array_append_new(arr, e);
		if (action == IDN_ACCOUNT_LIST && !o->json)
			printf("%.*s\t%u:%.*s\n", (int)nm.len,
			       (const char *)nm.p, ix, (int)ad.len,
			       (const char *)ad.p);
	}
	if (r.err)
		fprintf(stderr, "idctl: account: malformed reply\n");
	else if (action == IDN_ACCOUNT_LIST && o->json)
		ctl_print_json(arr);
	else if (action != IDN_ACCOUNT_LIST)
		printf("account %s %s\n", name,
		       action == IDN_ACCOUNT_REMOVE ? "removed" : "set");
	json_decref(arr);
	rc = r.err ? 1 : 0;
out:
	idn_arena_free(&a);
	return rc;
}

int account_main(ctl_opts_t *o, int argc, char **argv)
{
	const char *words[3] = {NULL, NULL, NULL};
	const char *passfile = NULL;
	bool replace = false;
	int nw = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(account_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--password-file") && i + 1 < argc) {
			passfile = argv[++i];
		} else if (!strcmp(a, "--replace")) {
			replace = true;
		} else if (a[0] == '-' && a[1]) {
			return account_err("unknown option or missing value "
					   "'%s'",
					   a);
		} else if (nw < 2) {
			words[nw++] = a;
		} else {
			return account_err("unexpected argument '%s'", a);
		}
	}
	const char *act = nw ? words[0] : "";
	const char *name = nw > 1 ? words[1] : "";
	if (!strcmp(act, "list") && nw == 1)
		return call(o, IDN_ACCOUNT_LIST, "", idn_bytes_str(""), 0, "");
	if (!strcmp(act, "remove") && nw == 2)
		return call(o, IDN_ACCOUNT_REMOVE, name, idn_bytes_str(""), 0,
			    "");
	if (strcmp(act, "add") || nw != 2)
		return account_err("give add NAME --admin ADMIN_ID:INDEX, "
				   "list or remove NAME%s",
				   "");
	idn_bytes_t admin;
	uint32_t index;
	if (o->admin_ref == NULL ||
	    ctl_admin_ref(o->admin_ref, &admin, &index) != 0 || index == 0 ||
	    admin.len == 0)
		return account_err("add needs --admin ADMIN_ID:INDEX (INDEX "
				   "from 1)%s",
				   "");
	if (strlen(name) > NAME_MAX_LEN)
		return account_err("the name '%s' is longer than 50", name);
	char pass[PASS_MAX_LEN + 2];
	int rc = (passfile ? pass_from_file(passfile, pass, sizeof(pass))
			   : pass_from_tty(pass, sizeof(pass))) != 0;
	if (rc == 0 && (strlen(pass) == 0 || strlen(pass) > PASS_MAX_LEN)) {
		fprintf(stderr,
			"idctl: account: the password is 1..64 bytes\n");
		rc = 1;
	}
	if (rc == 0)
		rc = call(o, replace ? IDN_ACCOUNT_REPLACE : IDN_ACCOUNT_ADD,
			  name, admin, index, pass);
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}
