/* imapmoved entry point. The server proper arrives with issue 2; for now
 * the binary only reports its version and usage. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		(void)printf("imapmoved %s\n", IMAPMOVED_VERSION);
		return 0;
	}
	(void)fprintf(stderr, "usage: imapmoved [-c FILE] [-f] [-i] [-t]\n");
	return 64;
}
