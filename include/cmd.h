/* cmd.h: the subcommands (parley models, show, ps, pull, rm, cp, sessions,
 * serve). Each takes the loaded configuration and its own argv, where
 * argv[0] is the command word and the rest are the words after it (global
 * options come before the command word; a command parses its own options,
 * such as --json, after it). Each returns the process exit status. */
#ifndef PARLEY_CMD_H
#define PARLEY_CMD_H

#include "config.h"

int cmd_models(struct config *cfg, int argc, char **argv);
int cmd_show(struct config *cfg, int argc, char **argv);
int cmd_ps(struct config *cfg, int argc, char **argv);
int cmd_pull(struct config *cfg, int argc, char **argv);
int cmd_rm(struct config *cfg, int argc, char **argv);
int cmd_cp(struct config *cfg, int argc, char **argv);
/* parley sessions [list|show ID|rename ID TITLE|rm ID|export ID|import FILE|search TEXT] */
int cmd_sessions(struct config *cfg, int argc, char **argv);
int cmd_serve(struct config *cfg, int argc, char **argv);
/* parley tools [--json] [SERVER|SERVER__TOOL ...]: the MCP servers and their tools */
int cmd_tools(struct config *cfg, int argc, char **argv);

#endif
