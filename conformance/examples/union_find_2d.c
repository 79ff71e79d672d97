/* A complete engine for the dmtloss conformance protocol, in C: the diagram level, 2-D.
 *
 *   cc -O2 -o union_find_2d union_find_2d.c
 *   python -m dmtloss.conformance --command ./union_find_2d
 *
 * It reads one JSON request per line on stdin and writes one JSON answer per line on
 * stdout (docs/conformance.md, "The subprocess protocol"). The persistence diagram of the
 * superlevel filtration, pixels as vertices (docs/spec.md sections 1-4):
 *   - vertex rank: stable sort by value descending, C index ascending; a cell's key: its
 *     vertices' ranks sorted descending, compared lexicographically (a prefix is smaller);
 *   - dimension 0: union-find over the pixels in rank order, 4-neighbours, elder rule;
 *   - dimension 1: union-find over the squares and one OUTSIDE node (the oldest), joined
 *     through edges taken in reverse filtration order; the younger side dies.
 * Rows come by dimension, then birth descending; zero persistence is left out.
 * Compiled with -DNO_OUTSIDE it forgets the OUTSIDE node: a broken twin for the tests.
 * The JSON reading is minimal: it relies on the suite's requests (keys "op", "id",
 * "shape", "data"; float64 values written so that strtod reads them back exactly).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double *values;
static int *ranks;

static int by_value_desc(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (values[i] > values[j]) return -1;
    if (values[i] < values[j]) return 1;
    return (i > j) - (i < j);
}

typedef struct { int key[4]; int kind; int id; } Cell; /* kind 1: edge, 2: square */

static int by_key(const void *a, const void *b) {
    const Cell *p = a, *q = b;
    for (int k = 0; k < 4; k++)
        if (p->key[k] != q->key[k]) return p->key[k] < q->key[k] ? -1 : 1;
    return 0;
}

static void sort_desc(int *k, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && k[j] > k[j - 1]; j--) { int t = k[j]; k[j] = k[j - 1]; k[j - 1] = t; }
}

static int find(int *parent, int x) {
    while (parent[x] != x) { parent[x] = parent[parent[x]]; x = parent[x]; }
    return x;
}

typedef struct { double dim, birth, death; } Row;

static int by_row(const void *a, const void *b) {
    const Row *p = a, *q = b;
    if (p->dim != q->dim) return p->dim < q->dim ? -1 : 1;
    if (p->birth != q->birth) return p->birth > q->birth ? -1 : 1;
    return 0;
}

/* the diagram of the h x w image v, into rows; returns their number */
static int diagram(const double *v, int h, int w, Row *rows) {
    int n = h * w, nrows = 0;
    int *order = malloc(sizeof(int) * n), *parent = malloc(sizeof(int) * n);
    ranks = malloc(sizeof(int) * n);
    values = v;
    for (int i = 0; i < n; i++) order[i] = i;
    qsort(order, n, sizeof(int), by_value_desc);
    for (int r = 0; r < n; r++) ranks[order[r]] = r;
    /* dimension 0: a root is the oldest (lowest-rank) pixel of its component */
    for (int i = 0; i < n; i++) parent[i] = -1;
    for (int r = 0; r < n; r++) {
        int p = order[r], i = p / w, j = p % w, nb[4], m = 0;
        parent[p] = p;
        if (i > 0) nb[m++] = p - w;
        if (i < h - 1) nb[m++] = p + w;
        if (j > 0) nb[m++] = p - 1;
        if (j < w - 1) nb[m++] = p + 1;
        for (int a = 1; a < m; a++)   /* the edges (r, s) in order of s ascending */
            for (int b = a; b > 0 && ranks[nb[b]] < ranks[nb[b - 1]]; b--) { int t = nb[b]; nb[b] = nb[b - 1]; nb[b - 1] = t; }
        for (int a = 0; a < m; a++) {
            int q = nb[a];
            if (ranks[q] > r) continue;   /* not entered yet */
            int x = find(parent, p), y = find(parent, q);
            if (x == y) continue;
            int older = ranks[x] < ranks[y] ? x : y, younger = older == x ? y : x;
            if (v[younger] != v[p]) rows[nrows++] = (Row){0, v[younger], v[p]};
            parent[younger] = older;
        }
    }
    rows[nrows++] = (Row){0, v[order[0]], -1.0 / 0.0};
    /* dimension 1: squares s = i * (w - 1) + j, OUTSIDE = ns */
    int ns = (h - 1) * (w - 1), ne = h * (w - 1) + (h - 1) * w, nc = 0;
    Cell *cells = malloc(sizeof(Cell) * (ns + ne));
    int *dual = malloc(sizeof(int) * (ns + 1)), *age = malloc(sizeof(int) * (ns + 1));
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            int p = i * w + j;
            if (j < w - 1) { Cell c = {{ranks[p], ranks[p + 1], -1, -1}, 1, 2 * p}; sort_desc(c.key, 2); cells[nc++] = c; }
            if (i < h - 1) { Cell c = {{ranks[p], ranks[p + w], -1, -1}, 1, 2 * p + 1}; sort_desc(c.key, 2); cells[nc++] = c; }
            if (i < h - 1 && j < w - 1) {
                Cell c = {{ranks[p], ranks[p + 1], ranks[p + w], ranks[p + w + 1]}, 2, i * (w - 1) + j};
                sort_desc(c.key, 4); cells[nc++] = c;
            }
        }
    qsort(cells, nc, sizeof(Cell), by_key);
    for (int s = 0; s <= ns; s++) dual[s] = s;
    age[ns] = nc; /* OUTSIDE: older than everything */
    for (int k = nc - 1; k >= 0; k--) {
        Cell c = cells[k];
        if (c.kind == 2) { age[c.id] = k; continue; }
        int p = c.id / 2, i = p / w, j = p % w, side[2];
        if (c.id % 2 == 0) { /* edge (i, j)-(i, j+1): squares above and below */
            side[0] = i > 0 ? (i - 1) * (w - 1) + j : ns;
            side[1] = i < h - 1 ? i * (w - 1) + j : ns;
        } else {             /* edge (i, j)-(i+1, j): squares left and right */
            side[0] = j > 0 ? i * (w - 1) + j - 1 : ns;
            side[1] = j < w - 1 ? i * (w - 1) + j : ns;
        }
#ifdef NO_OUTSIDE
        if (side[0] == ns || side[1] == ns) continue;
#endif
        int x = find(dual, side[0]), y = find(dual, side[1]);
        if (x == y) continue;
        int younger = age[x] < age[y] ? x : y, older = younger == x ? y : x;
        int q = p + (c.id % 2 == 0 ? 1 : w);
        double edge = v[p] < v[q] ? v[p] : v[q];
        int si = younger / (w - 1), sj = younger % (w - 1), t = si * w + sj;
        double square = v[t];
        if (v[t + 1] < square) square = v[t + 1];
        if (v[t + w] < square) square = v[t + w];
        if (v[t + w + 1] < square) square = v[t + w + 1];
        if (edge != square) rows[nrows++] = (Row){1, edge, square};
        dual[younger] = older;
    }
    qsort(rows, nrows, sizeof(Row), by_row);
    free(order); free(parent); free(ranks); free(cells); free(dual); free(age);
    return nrows;
}

static long field_int(const char *line, const char *key) {
    const char *at = strstr(line, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

int main(void) {
    char *line = NULL;
    size_t size = 0;
    while (getline(&line, &size, stdin) > 0) {
        long id = field_int(line, "\"id\":");
        if (strstr(line, "\"op\": \"hello\"")) {
            printf("{\"id\": %ld, \"name\": \"union-find-2d (C)\", \"version\": \"1\", "
                   "\"levels\": [\"diagram\"], \"dims\": [2], \"arrays\": \"json\"}\n", id);
        } else if (strstr(line, "\"op\": \"persistence_diagram\"")) {
            const char *shape = strstr(line, "\"shape\": [");
            char *end;
            long h = -1, w = -1, third = -1;
            if (shape) {
                h = strtol(shape + 10, &end, 10);
                if (*end == ',') w = strtol(end + 1, &end, 10);
                if (*end == ',') third = strtol(end + 1, &end, 10);
            }
            if (h < 2 || w < 2 || third != -1) {
                printf("{\"id\": %ld, \"error\": \"ValueError: this engine takes 2-D images only\"}\n", id);
            } else {
                double *v = malloc(sizeof(double) * h * w);
                const char *data = strstr(line, "\"data\": [") + 9;
                for (long k = 0; k < h * w; k++) {
                    v[k] = strtod(data, &end);
                    data = end;
                    while (*data == ',' || *data == ' ') data++;
                }
                Row *rows = malloc(sizeof(Row) * (2 * h * w + 1));
                int n = diagram(v, (int)h, (int)w, rows);
                printf("{\"id\": %ld, \"diagram\": {\"dtype\": \"float64\", \"shape\": [%d, 3], \"data\": [", id, n);
                for (int k = 0; k < n; k++) {
                    printf("%s%.17g, %.17g, ", k ? ", " : "", rows[k].dim, rows[k].birth);
                    if (rows[k].death < -1e308) printf("\"-inf\""); else printf("%.17g", rows[k].death);
                }
                printf("]}}\n");
                free(v); free(rows);
            }
        } else {
            printf("{\"id\": %ld, \"error\": \"NotImplementedError: this engine answers hello and "
                   "persistence_diagram only\"}\n", id);
        }
        fflush(stdout);
    }
    free(line);
    return 0;
}
