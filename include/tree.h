/* tree.h: walking a session's message tree, as store_tree gives it (oldest
 * first, so a parent always comes before its children). Pure: no store. */
#ifndef PARLEY_TREE_H
#define PARLEY_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The index of message id, or n. */
size_t tree_find(const struct store_node *v, size_t n, int64_t id);
/* How many alternatives message id has, itself included (0 if it is not
 * in the tree); *pos its place among them, oldest first. */
size_t tree_siblings(const struct store_node *v, size_t n, int64_t id, size_t *pos);
/* The alternative delta places from id (-1 the one before, +1 the one
 * after), or 0 when there is none that far. */
int64_t tree_sibling(const struct store_node *v, size_t n, int64_t id, long delta);
/* The newest message under id (id itself when it has no children): the
 * end of the branch through id that was written last. 0 if id is not in
 * the tree. */
int64_t tree_leaf(const struct store_node *v, size_t n, int64_t id);
/* The messages that have no children, each the end of a branch, oldest
 * first; *out allocated. */
size_t tree_leaves(const struct store_node *v, size_t n, int64_t **out);
/* Messages on the path from the root to id, id included (0 if absent). */
size_t tree_depth(const struct store_node *v, size_t n, int64_t id);
/* The branch ending at leaf passes through id. */
int tree_on_path(const struct store_node *v, size_t n, int64_t leaf, int64_t id);

#endif
