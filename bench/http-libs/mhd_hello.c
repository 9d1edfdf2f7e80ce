/* Minimal libmicrohttpd server answering every GET with a fixed JSON
 * document: the library-choice measurement of bench/RESULTS-http.md. */
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] =
	"{\"responseCode\":1,\"handle\":\"88.118.8/x\",\"values\":[{\"index\":1,"
	"\"type\":\"URL\",\"data\":{\"format\":\"string\",\"value\":"
	"\"https://example.com/\"},\"ttl\":86400,\"timestamp\":"
	"\"2026-01-01T00:00:00Z\"}]}";

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *data,
			      size_t *size, void **st)
{
	(void)cls; (void)url; (void)method; (void)version; (void)data;
	(void)size; (void)st;
	struct MHD_Response *r = MHD_create_response_from_buffer(
		sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 8081;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY |
			MHD_USE_TURBO,
		(uint16_t)port, NULL, NULL, answer, NULL,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		MHD_OPTION_CONNECTION_LIMIT, 10000u, MHD_OPTION_END);
	if (d == NULL)
		return 1;
	pause();
	MHD_stop_daemon(d);
	return 0;
}
