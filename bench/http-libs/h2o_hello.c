/* Minimal libh2o-evloop server (one event loop per thread, SO_REUSEPORT)
 * answering every request with a fixed JSON document: the library-choice
 * measurement of bench/RESULTS-http.md. */
#include <h2o.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char body[] =
	"{\"responseCode\":1,\"handle\":\"88.118.8/x\",\"values\":[{\"index\":1,"
	"\"type\":\"URL\",\"data\":{\"format\":\"string\",\"value\":"
	"\"https://example.com/\"},\"ttl\":86400,\"timestamp\":"
	"\"2026-01-01T00:00:00Z\"}]}";

static h2o_globalconf_t config;
static int port;

typedef struct {
	h2o_context_t ctx;
	h2o_accept_ctx_t actx;
} loop_t;

static int hello(h2o_handler_t *self, h2o_req_t *req)
{
	(void)self;
	static h2o_generator_t gen = {NULL, NULL};
	req->res.status = 200;
	req->res.reason = "OK";
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		       NULL, H2O_STRLIT("application/json"));
	h2o_start_response(req, &gen);
	h2o_iovec_t b = h2o_iovec_init(body, sizeof(body) - 1);
	h2o_send(req, &b, 1, H2O_SEND_STATE_FINAL);
	return 0;
}

static void on_accept(h2o_socket_t *l, const char *err)
{
	if (err != NULL)
		return;
	h2o_socket_t *s = h2o_evloop_socket_accept(l);
	if (s != NULL)
		h2o_accept(l->data, s);
}

static void *run(void *arg)
{
	loop_t *lp = arg;
	h2o_context_init(&lp->ctx, h2o_evloop_create(), &config);
	lp->actx.ctx = &lp->ctx;
	lp->actx.hosts = config.hosts;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(0x7f000001)};
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1024))
		exit(1);
	h2o_socket_t *ls = h2o_evloop_socket_create(lp->ctx.loop, fd,
						    H2O_SOCKET_FLAG_DONT_READ);
	ls->data = &lp->actx;
	h2o_socket_read_start(ls, on_accept);
	while (h2o_evloop_run(lp->ctx.loop, INT32_MAX) == 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	port = argc > 1 ? atoi(argv[1]) : 8082;
	int n = argc > 2 ? atoi(argv[2]) : 2;
	h2o_config_init(&config);
	h2o_hostconf_t *hc = h2o_config_register_host(
		&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	h2o_pathconf_t *pc = h2o_config_register_path(hc, "/", 0);
	h2o_handler_t *h = h2o_create_handler(pc, sizeof(*h));
	h->on_req = hello;
	pthread_t t[64];
	loop_t *loops = calloc((size_t)n, sizeof(*loops));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, &loops[i]);
	pthread_join(t[0], NULL);
	return 0;
}
