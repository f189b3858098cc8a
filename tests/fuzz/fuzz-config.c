/* libFuzzer target: the config reader and the passwd-file reader on
 * arbitrary bytes. Either accepts and frees, or reports FILE:LINE; never
 * crashes, leaks or reads past the input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_config cfg;
	struct passwd_file *pf = NULL;
	char err[512];

	log_set_level(LOG_LEVEL_ERROR);
	if (config_parse("/fuzz/imapmoved.conf", (const char *)data, size, &cfg,
			 err, sizeof(err)) == 0)
		config_free(&cfg);
	else if (strncmp(err, "/fuzz/imapmoved.conf:", 21) != 0)
		__builtin_trap(); /* an error must name the file */
	if (passwd_parse("passwd", (const char *)data, size, &pf, err,
			 sizeof(err)) == 0)
		passwd_free(&pf);
	return 0;
}
