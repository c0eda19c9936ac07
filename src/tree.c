/*
 * tree.c: a session's messages as a tree. The nodes come oldest first and a
 * parent is always older than its children, so one forward pass sees every
 * parent before its children, and the newest message under a node is the
 * last one in the array that descends from it.
 */
#include "tree.h"

#include <stdlib.h>

#include "util.h"

size_t
tree_find(const struct store_node *v, size_t n, int64_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].id == id)
			return mid;
		if (v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n;
}

size_t
tree_siblings(const struct store_node *v, size_t n, int64_t id, size_t *pos)
{
	size_t at = tree_find(v, n, id), count = 0;

	*pos = 0;
	if (at == n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].parent != v[at].parent)
			continue;
		if (i == at)
			*pos = count;
		count++;
	}
	return count;
}

int64_t
tree_sibling(const struct store_node *v, size_t n, int64_t id, long delta)
{
	size_t pos, count = tree_siblings(v, n, id, &pos), at = tree_find(v, n, id);
	long want = (long)pos + delta, k = 0;

	if (count == 0 || want < 0 || want >= (long)count)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].parent != v[at].parent)
			continue;
		if (k++ == want)
			return v[i].id;
	}
	return 0;
}

int64_t
tree_leaf(const struct store_node *v, size_t n, int64_t id)
{
	size_t at = tree_find(v, n, id);
	int64_t leaf;
	unsigned char *under;

	if (at == n)
		return 0;
	leaf = id;
	under = xcalloc(n, 1);
	under[at] = 1;
	for (size_t i = at + 1; i < n; i++) {
		size_t p = v[i].parent > 0 ? tree_find(v, i, v[i].parent) : i;

		if (p < i && under[p]) {
			under[i] = 1;
			leaf = v[i].id;
		}
	}
	free(under);
	return leaf;
}

size_t
tree_leaves(const struct store_node *v, size_t n, int64_t **out)
{
	unsigned char *parent = xcalloc(n ? n : 1, 1);
	size_t k = 0;

	*out = xcalloc(n ? n : 1, sizeof **out);
	for (size_t i = 0; i < n; i++) {
		size_t p = v[i].parent > 0 ? tree_find(v, i, v[i].parent) : i;

		if (p < i)
			parent[p] = 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!parent[i])
			(*out)[k++] = v[i].id;
	free(parent);
	return k;
}

size_t
tree_depth(const struct store_node *v, size_t n, int64_t id)
{
	size_t depth = 0, at = tree_find(v, n, id), p;

	while (at < n) {
		depth++;
		if (v[at].parent <= 0)
			break;
		p = tree_find(v, at, v[at].parent); /* older, so before it */
		if (p == at)
			break; /* a parent that is not in the tree */
		at = p;
	}
	return depth;
}

int
tree_on_path(const struct store_node *v, size_t n, int64_t leaf, int64_t id)
{
	size_t at = tree_find(v, n, leaf), p;

	while (at < n) {
		if (v[at].id == id)
			return 1;
		if (v[at].parent <= 0)
			break;
		p = tree_find(v, at, v[at].parent);
		if (p == at)
			break;
		at = p;
	}
	return 0;
}
