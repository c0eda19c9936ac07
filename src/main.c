/*
 * main.c: parse the command line, pick the face, run the loop.
 */
#include <stdio.h>

int
main(void)
{
	puts("parley " PARLEY_VERSION);
	return 0;
}
