/* Weighted k-means++ and exact Lloyd on distinct colours: the quantizer's inner loops in C.
 *
 * Declared in engine_native.h and called through its cffi bindings (build.py, __init__.py); kmeans.py documents the
 * algorithm and owns every decision about levels, starts and stopping. Plain C11, no Python API,
 * no allocation that outlives a call: the caller owns every array of a `km_state`.
 *
 * Lloyd keeps Hamerly's two bounds per point (an upper bound on the distance to its centre, a
 * lower bound on the distance to every other centre) and re-examines a point only when they may
 * have crossed. A point whose bounds fail is searched "Exponion" style: only centres within
 * 2u + gap of its current centre can be nearer (u: its exact distance, gap: that centre's
 * distance to its nearest other centre), and each centre keeps the others sorted by distance, so
 * the search stops at the first one beyond that radius. A full assignment starts each point's
 * search from the previous point's centre (colours arrive sorted by code, so neighbours are
 * close). Every distance is exact (double precision); only the bounds prune.
 *
 * Threads: points are processed in fixed chunks of CHUNK; a chunk's result does not depend on
 * the thread that ran it, and chunks are merged in order, so results do not depend on the
 * thread count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_native.h"
#include "parallel.h"

#define CHUNK 16384

/* Per-call scratch: the centres' neighbour order and the moves of the last pass. */
typedef struct {
    km_state *s;
    int32_t *nb_idx;    /* (k, k-1): for each centre, the others by increasing distance */
    double *nb_dist;    /* (k, k-1): their squared distances, when they were sorted */
    double *drift;      /* (k,) how far each centre moved since then */
    double drift_max;   /* the largest drift */
    double resort_at;   /* sort again once drift_max exceeds this */
    double *gap;        /* (k,) lower bound on the distance to the nearest other centre */
    double *shift;      /* (k,) distance each centre moved in the last update */
    double max_shift, second_shift;
    int32_t argmax_shift;
    int32_t *moved;     /* (n,) points that changed cluster, chunk by chunk */
    int32_t *old;       /* (n,) their previous labels */
    int64_t *n_moved;   /* (chunks,) */
    int64_t n_chunks;
} work;

static inline double dist2(const float *x, const double *c, int d) {
    double a = x[0] - c[0], b = x[1] - c[1], e = x[2] - c[2];
    double out = a * a + b * b + e * e;
    if (d == 4) {
        double f = x[3] - c[3];
        out += f * f;
    }
    return out;
}

static inline double center_dist2(const double *a, const double *b, int d) {
    double out = 0.0;
    for (int j = 0; j < d; j++) out += (a[j] - b[j]) * (a[j] - b[j]);
    return out;
}

/* ---- centres ------------------------------------------------------------------------------- */

typedef struct {
    double dist;
    int32_t idx;
} neighbour;

static int by_distance(const void *a, const void *b) {
    const neighbour *x = a, *y = b;
    if (x->dist < y->dist) return -1;
    if (x->dist > y->dist) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sort every centre's neighbours by their current distance: from scratch (qsort) or, when the
 * previous order is given, by insertion sort from it (centres move little between iterations,
 * so the order is nearly sorted and this is close to linear). The order then serves until the
 * centres have drifted by RESORT_DRIFT of the mean gap: by the triangle inequality, a distance
 * sorted earlier is off by at most the drift of both centres, and every use allows for that. */
#define RESORT_DRIFT 0.25

static void order_neighbours(work *W, int from_scratch) {
    km_state *s = W->s;
    int k = s->k, d = s->d, m = k - 1;
    memset(W->drift, 0, sizeof(double) * k);
    W->drift_max = 0.0;
    if (k == 1) {
        W->gap[0] = INFINITY;
        W->resort_at = INFINITY;
        return;
    }
    double gap_total = 0.0;
    neighbour *row = malloc(sizeof(neighbour) * m);
    for (int a = 0; a < k; a++) {
        int32_t *idx = W->nb_idx + (int64_t)a * m;
        double *dist = W->nb_dist + (int64_t)a * m;
        const double *ca = s->centers + (int64_t)a * d;
        if (from_scratch) {
            for (int j = 0, r = 0; j < k; j++) {
                if (j == a) continue;
                row[r].idx = j;
                row[r].dist = center_dist2(ca, s->centers + (int64_t)j * d, d);
                r++;
            }
            qsort(row, m, sizeof(neighbour), by_distance);
        } else {
            for (int r = 0; r < m; r++) {
                row[r].idx = idx[r];
                row[r].dist = center_dist2(ca, s->centers + (int64_t)idx[r] * d, d);
            }
            for (int r = 1; r < m; r++) {
                neighbour item = row[r];
                int q = r - 1;
                while (q >= 0 && by_distance(&row[q], &item) > 0) {
                    row[q + 1] = row[q];
                    q--;
                }
                row[q + 1] = item;
            }
        }
        for (int r = 0; r < m; r++) {
            idx[r] = row[r].idx;
            dist[r] = row[r].dist;
        }
        W->gap[a] = sqrt(dist[0]);
        gap_total += W->gap[a];
    }
    W->resort_at = RESORT_DRIFT * gap_total / k;
    free(row);
}

/* After the centres moved by W->shift: sort again, or widen the sorted distances' margins. */
static void follow_drift(work *W) {
    km_state *s = W->s;
    int k = s->k, m = k - 1;
    if (k == 1) return;
    for (int a = 0; a < k; a++) {
        W->drift[a] += W->shift[a];
        if (W->drift[a] > W->drift_max) W->drift_max = W->drift[a];
    }
    if (W->drift_max > W->resort_at) {
        order_neighbours(W, 0);
        return;
    }
    for (int a = 0; a < k; a++) {
        double gap = sqrt(W->nb_dist[(int64_t)a * m]) - W->drift[a] - W->drift_max;
        W->gap[a] = gap > 0.0 ? gap : 0.0;
    }
}

/* The nearest centre to x and a lower bound on the distance to every other one, searching out
 * from centre `a` at exact distance `u`. Ties keep `a` (then the nearer-sorted centre). */
static inline void search_from(const work *W, const float *x, int32_t a, double u, int32_t *label,
                               double *upper, double *lower) {
    const km_state *s = W->s;
    int m = s->k - 1, d = s->d;
    const int32_t *idx = W->nb_idx + (int64_t)a * m;
    const double *dist = W->nb_dist + (int64_t)a * m;
    /* A centre nearer than u lies within 2u of centre a; one beyond radius R is farther than R - u.
     * A sorted distance may since have shrunk by both centres' drift. */
    double radius = 2.0 * u + W->gap[a], limit = radius + W->drift[a] + W->drift_max;
    double best = u * u, second = INFINITY, limit2 = limit * limit;
    int32_t b = a;
    int r = 0;
    for (; r < m && dist[r] <= limit2; r++) {
        int32_t j = idx[r];
        double dd = dist2(x, s->centers + (int64_t)j * d, d);
        if (dd < best) {
            second = best;
            best = dd;
            b = j;
        } else if (dd < second) {
            second = dd;
        }
    }
    double low = sqrt(second);
    if (r < m && radius - u < low) low = radius - u;
    *label = b;
    *upper = sqrt(best);
    *lower = low;
}

/* The points [*lo, *hi) of one chunk. */
static inline void chunk_rows(const km_state *s, int64_t chunk, int64_t *lo, int64_t *hi) {
    *lo = chunk * CHUNK;
    *hi = *lo + CHUNK < s->n ? *lo + CHUNK : s->n;
}

static void assign_chunk(void *ctx, int64_t chunk, int worker) {
    (void)worker;
    const work *W = ctx;
    km_state *s = W->s;
    int d = s->d;
    int64_t lo, hi;
    chunk_rows(s, chunk, &lo, &hi);
    int32_t guess = 0;
    for (int64_t i = lo; i < hi; i++) {
        const float *xi = s->x + i * d;
        double u = sqrt(dist2(xi, s->centers + (int64_t)guess * d, d));
        search_from(W, xi, guess, u, &s->labels[i], &s->upper[i], &s->lower[i]);
        guess = s->labels[i];
    }
}

static void recompute_sums(km_state *s) {
    int d = s->d;
    memset(s->sums, 0, sizeof(double) * s->k * d);
    memset(s->weight, 0, sizeof(double) * s->k);
    memset(s->sq, 0, sizeof(double) * s->k);
    for (int64_t i = 0; i < s->n; i++) {
        int32_t a = s->labels[i];
        const float *xi = s->x + i * d;
        double w = s->w[i], norm = 0.0;
        for (int j = 0; j < d; j++) {
            s->sums[a * d + j] += w * xi[j];
            norm += (double)xi[j] * xi[j];
        }
        s->weight[a] += w;
        s->sq[a] += w * norm;
    }
}

static void assign_full(work *W) {
    order_neighbours(W, 1);
    for_each_chunk(W->n_chunks, W->s->n_threads, assign_chunk, W);
    recompute_sums(W->s);
}

/* Hamerly's test on every point after the centres moved; failing points are searched again. */
static void examine_chunk(void *ctx, int64_t chunk, int worker) {
    (void)worker;
    work *W = ctx;
    km_state *s = W->s;
    int d = s->d;
    int64_t lo, hi, n_moved = 0;
    chunk_rows(s, chunk, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        int32_t a = s->labels[i];
        double u = s->upper[i] + W->shift[a];
        double l = s->lower[i] - (a == W->argmax_shift ? W->second_shift : W->max_shift);
        double bound = 0.5 * W->gap[a] > l ? 0.5 * W->gap[a] : l;
        if (u > bound) {
            const float *xi = s->x + i * d;
            u = sqrt(dist2(xi, s->centers + (int64_t)a * d, d));
            if (u > bound) {
                int32_t b;
                search_from(W, xi, a, u, &b, &u, &l);
                if (b != a) {
                    s->labels[i] = b;
                    W->moved[lo + n_moved] = (int32_t)i;
                    W->old[lo + n_moved] = a;
                    n_moved++;
                }
            }
        }
        s->upper[i] = u;
        s->lower[i] = l;
    }
    W->n_moved[chunk] = n_moved;
}

/* Move the centres to `new_centers` and re-label the points whose bounds allow a change;
 * the cluster sums follow the moves. Returns how many points changed cluster. */
static int64_t move_centers(work *W, const double *new_centers) {
    km_state *s = W->s;
    int k = s->k, d = s->d;
    W->max_shift = W->second_shift = 0.0;
    W->argmax_shift = 0;
    for (int a = 0; a < k; a++) {
        double shift = sqrt(center_dist2(s->centers + a * d, new_centers + a * d, d));
        W->shift[a] = shift;
        if (shift > W->max_shift) {
            W->second_shift = W->max_shift;
            W->max_shift = shift;
            W->argmax_shift = a;
        } else if (shift > W->second_shift) {
            W->second_shift = shift;
        }
    }
    memcpy(s->centers, new_centers, sizeof(double) * k * d);
    follow_drift(W);
    for_each_chunk(W->n_chunks, s->n_threads, examine_chunk, W);
    int64_t total = 0;
    for (int64_t c = 0; c < W->n_chunks; c++) {
        int64_t lo = c * CHUNK;
        for (int64_t m = 0; m < W->n_moved[c]; m++) {
            int64_t i = W->moved[lo + m];
            int32_t a = W->old[lo + m], b = s->labels[i];
            const float *xi = s->x + i * d;
            double w = s->w[i], norm = 0.0;
            for (int j = 0; j < d; j++) {
                s->sums[a * d + j] -= w * xi[j];
                s->sums[b * d + j] += w * xi[j];
                norm += (double)xi[j] * xi[j];
            }
            s->weight[a] -= w;
            s->weight[b] += w;
            s->sq[a] -= w * norm;
            s->sq[b] += w * norm;
        }
        total += W->n_moved[c];
    }
    return total;
}

static int work_init(work *W, km_state *s) {
    int64_t k = s->k, m = k > 1 ? k - 1 : 1;
    memset(W, 0, sizeof(*W));
    W->s = s;
    W->n_chunks = (s->n + CHUNK - 1) / CHUNK;
    W->nb_idx = malloc(sizeof(int32_t) * k * m);
    W->nb_dist = malloc(sizeof(double) * k * m);
    W->gap = malloc(sizeof(double) * k);
    W->drift = malloc(sizeof(double) * k);
    W->shift = malloc(sizeof(double) * k);
    W->moved = malloc(sizeof(int32_t) * s->n);
    W->old = malloc(sizeof(int32_t) * s->n);
    W->n_moved = malloc(sizeof(int64_t) * W->n_chunks);
    return W->nb_idx && W->nb_dist && W->gap && W->drift && W->shift && W->moved && W->old && W->n_moved;
}

static void work_free(work *W) {
    free(W->nb_idx);
    free(W->nb_dist);
    free(W->gap);
    free(W->drift);
    free(W->shift);
    free(W->moved);
    free(W->old);
    free(W->n_moved);
}

/* Weighted mean squared distance of the current labels to the current centres, from the sums. */
static double inertia(const km_state *s) {
    double total = 0.0, weight = 0.0;
    for (int a = 0; a < s->k; a++) {
        const double *c = s->centers + a * s->d;
        double cross = 0.0, norm = 0.0;
        for (int j = 0; j < s->d; j++) {
            cross += s->sums[a * s->d + j] * c[j];
            norm += c[j] * c[j];
        }
        total += s->sq[a] - 2.0 * cross + s->weight[a] * norm;
        weight += s->weight[a];
    }
    return total > 0.0 ? total / weight : 0.0;
}

/* ---- public entry points (return -1 when memory runs out) ---------------------------------- */

/* Label every point with its nearest centre and set its bounds and the cluster sums. */
int km_assign(km_state *s) {
    work W;
    if (!work_init(&W, s)) {
        work_free(&W);
        return -1;
    }
    assign_full(&W);
    work_free(&W);
    return 0;
}

/* Move the centres of an assigned state; returns the points that changed cluster. */
int64_t km_move(km_state *s, const double *new_centers) {
    work W;
    if (!work_init(&W, s)) {
        work_free(&W);
        return -1;
    }
    order_neighbours(&W, 1);
    int64_t changed = move_centers(&W, new_centers);
    work_free(&W);
    return changed;
}

/* Lloyd from s->centers: assign, then update and re-assign until no label changes, the total
 * squared centre shift is at most tol_abs, or max_iter updates. An empty cluster restarts at the
 * point with the largest upper bound (as scikit-learn: the points farthest from their centre).
 * history[i] is the inertia before update i. Sets *n_iter and *final_inertia (of the returned
 * centres and labels); returns 1 when converged, 0 when max_iter stopped it, -1 without memory. */
int km_lloyd(km_state *s, int32_t max_iter, double tol_abs, double *history, int32_t *n_iter,
             double *final_inertia) {
    int k = s->k, d = s->d;
    work W;
    double *next = malloc(sizeof(double) * k * d);
    if (!work_init(&W, s) || !next) {
        work_free(&W);
        free(next);
        return -1;
    }
    assign_full(&W);
    int converged = 0, iter = 0;
    for (iter = 1; iter <= max_iter; iter++) {
        history[iter - 1] = inertia(s);
        int n_empty = 0;
        for (int a = 0; a < k; a++) {
            if (s->weight[a] > 0.0) {
                for (int j = 0; j < d; j++) next[a * d + j] = s->sums[a * d + j] / s->weight[a];
            } else {
                n_empty++;
            }
        }
        if (n_empty) {
            for (int a = 0; a < k; a++) {
                if (s->weight[a] > 0.0) continue;
                int64_t far = 0;
                for (int64_t i = 1; i < s->n; i++)
                    if (s->upper[i] > s->upper[far]) far = i;
                for (int j = 0; j < d; j++) next[a * d + j] = s->x[far * d + j];
                s->upper[far] = -1.0; /* not picked twice; every bound is reset below */
            }
            memcpy(s->centers, next, sizeof(double) * k * d);
            assign_full(&W);
            continue;
        }
        double shift_total = 0.0;
        for (int64_t j = 0; j < (int64_t)k * d; j++) shift_total += (next[j] - s->centers[j]) * (next[j] - s->centers[j]);
        int64_t changed = move_centers(&W, next);
        if (changed == 0 || shift_total <= tol_abs) {
            converged = 1;
            break;
        }
    }
    *n_iter = iter > max_iter ? max_iter : iter;
    *final_inertia = inertia(s);
    work_free(&W);
    free(next);
    return converged;
}

/* Greedy weighted k-means++ (scikit-learn's `_kmeans_plusplus`): each new centre is the best of
 * n_trials (at most MAX_TRIALS) candidates drawn with probability proportional to weight x
 * squared distance to the nearest chosen centre. `uniforms` holds the 1 + (k - 1) * n_trials
 * numbers in [0, 1) it uses, in order. Writes (k, d) centres; returns -1 without memory.
 * Every pass over the points is a loop the compiler vectorises, over channel-major float copies
 * (the "omp simd" reductions need only -fopenmp-simd, no OpenMP runtime): a draw finds its
 * block of SAMPLE_BLOCK points from per-block sums, then its point inside the block, instead of
 * a serial prefix sum over every point for every centre. */
#define MAX_TRIALS 32
#define SAMPLE_BLOCK 256

/* The first point whose running sum of mass reaches `target` (the last point if none does). */
static int64_t draw_point(int64_t n, const double *block_mass, const float *mass, double target) {
    int64_t n_blocks = (n + SAMPLE_BLOCK - 1) / SAMPLE_BLOCK, block = 0;
    double running = 0.0;
    for (; block < n_blocks - 1 && running + block_mass[block] < target; block++) running += block_mass[block];
    int64_t i = block * SAMPLE_BLOCK, stop = i + SAMPLE_BLOCK < n ? i + SAMPLE_BLOCK : n;
    for (; i < stop; i++) {
        running += mass[i];
        if (running >= target) return i;
    }
    return stop - 1;
}

int km_plusplus(int64_t n, int32_t d, const float *x, const double *w, int32_t k, int32_t n_trials,
                const double *uniforms, double *centers) {
    int64_t n_blocks = (n + SAMPLE_BLOCK - 1) / SAMPLE_BLOCK;
    /* x by channel (a zero 4th channel for RGB), the weights, the squared distance of each point
     * to its nearest chosen centre, and weight x that distance (the sampling mass). */
    float *columns = malloc(sizeof(float) * n * 7);
    double *block_mass = malloc(sizeof(double) * n_blocks);
    if (!columns || !block_mass || n_trials > MAX_TRIALS) {
        free(columns);
        free(block_mass);
        return -1;
    }
    float *x0 = columns, *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n, *wf = x3 + n, *closest = wf + n, *mass = closest + n;
    for (int64_t i = 0; i < n; i++) {
        x0[i] = x[i * d];
        x1[i] = x[i * d + 1];
        x2[i] = x[i * d + 2];
        x3[i] = d == 4 ? x[i * d + 3] : 0.0f;
        wf[i] = (float)w[i];
        mass[i] = wf[i];
    }
    float cand[MAX_TRIALS][4];
    double potentials[MAX_TRIALS];
    int32_t n_candidates = 1; /* the first centre is one draw by weight alone */
    const double *draws = uniforms;
    double total = 0.0;
    for (int64_t block = 0; block < n_blocks; block++) {
        double sum = 0.0;
        for (int64_t i = block * SAMPLE_BLOCK; i < n && i < (block + 1) * SAMPLE_BLOCK; i++) sum += mass[i];
        block_mass[block] = sum;
        total += sum;
    }
    for (int c = 0; c < k; c++) {
        for (int t = 0; t < n_candidates; t++) {
            int64_t row = draw_point(n, block_mass, mass, draws[t] * total);
            cand[t][0] = x0[row], cand[t][1] = x1[row], cand[t][2] = x2[row], cand[t][3] = x3[row];
        }
        draws += n_candidates;
        int best = 0;
        if (c > 0) {
            /* Block by block, every candidate on the block while it is in the L1 cache. */
            for (int t = 0; t < n_candidates; t++) potentials[t] = 0.0;
            for (int64_t lo = 0; lo < n; lo += SAMPLE_BLOCK) {
                int64_t hi = lo + SAMPLE_BLOCK < n ? lo + SAMPLE_BLOCK : n;
                for (int t = 0; t < n_candidates; t++) {
                    const float c0 = cand[t][0], c1 = cand[t][1], c2 = cand[t][2], c3 = cand[t][3];
                    float potential = 0.0f;
#pragma omp simd reduction(+ : potential)
                    for (int64_t i = lo; i < hi; i++) {
                        float a = x0[i] - c0, b = x1[i] - c1, e = x2[i] - c2, f = x3[i] - c3;
                        float dd = a * a + b * b + e * e + f * f;
                        potential += wf[i] * (dd < closest[i] ? dd : closest[i]);
                    }
                    potentials[t] += potential;
                }
            }
            for (int t = 1; t < n_candidates; t++)
                if (potentials[t] < potentials[best]) best = t;
        }
        const float c0 = cand[best][0], c1 = cand[best][1], c2 = cand[best][2], c3 = cand[best][3];
        total = 0.0;
        for (int64_t block = 0; block < n_blocks; block++) {
            int64_t lo = block * SAMPLE_BLOCK, hi = lo + SAMPLE_BLOCK < n ? lo + SAMPLE_BLOCK : n;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int64_t i = lo; i < hi; i++) {
                float a = x0[i] - c0, b = x1[i] - c1, e = x2[i] - c2, f = x3[i] - c3;
                float dd = a * a + b * b + e * e + f * f;
                if (c == 0 || dd < closest[i]) closest[i] = dd;
                mass[i] = wf[i] * closest[i];
                sum += mass[i];
            }
            block_mass[block] = sum;
            total += sum;
        }
        for (int j = 0; j < d; j++) centers[(int64_t)c * d + j] = cand[best][j];
        n_candidates = n_trials;
    }
    free(columns);
    free(block_mass);
    return 0;
}

/* ---- colour histogram of RGB pixels: a bitmap of the 2^24 codes, then each pixel's rank ---- */

#define CODE_WORDS (1 << 18) /* 2^24 bits in uint64 words: 2 MB */

typedef struct {
    int64_t n;
    const uint8_t *pixels; /* (n, 3) */
    int32_t n_parts;
    uint64_t **bits;       /* one bitmap per part; bits[0] is the caller's */
    const int32_t *prefix; /* set bits before each word */
    int32_t *inverse;
    int64_t **counts;      /* one count array per part; counts[0] is the caller's */
} histogram_job;

static inline uint32_t rgb_code(const uint8_t *p) {
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static void part_range(const histogram_job *job, int64_t part, int64_t *lo, int64_t *hi) {
    *lo = job->n * part / job->n_parts;
    *hi = job->n * (part + 1) / job->n_parts;
}

static void mark_part(void *ctx, int64_t part, int worker) {
    (void)worker;
    histogram_job *job = ctx;
    uint64_t *bits = job->bits[part];
    int64_t lo, hi;
    part_range(job, part, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        uint32_t code = rgb_code(job->pixels + 3 * i);
        bits[code >> 6] |= (uint64_t)1 << (code & 63);
    }
}

static void rank_part(void *ctx, int64_t part, int worker) {
    (void)worker;
    histogram_job *job = ctx;
    const uint64_t *bits = job->bits[0];
    int64_t *counts = job->counts[part];
    int64_t lo, hi;
    part_range(job, part, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        uint32_t code = rgb_code(job->pixels + 3 * i);
        uint64_t below = bits[code >> 6] & (((uint64_t)1 << (code & 63)) - 1);
        int32_t row = job->prefix[code >> 6] + __builtin_popcountll(below);
        job->inverse[i] = row;
        counts[row]++;
    }
}

static int32_t histogram_parts(int64_t n, int32_t n_threads) {
    int64_t parts = n / (1 << 18); /* a part below ~256k pixels is not worth a thread */
    if (parts > n_threads) parts = n_threads;
    if (parts > MAX_THREADS) parts = MAX_THREADS;
    return parts < 1 ? 1 : (int32_t)parts;
}

/* The histogram's shared ending: OR the other parts' bit sets into the first (when `ok`: all were
 * allocated), free them, and write the set bits before each word into `prefix`. Returns the
 * number of distinct codes, -1 when an allocation had failed. */
static int64_t merge_part_bits(int n_parts, uint64_t **part_bits, int ok, int32_t *prefix) {
    uint64_t *bits = part_bits[0];
    if (ok)
        for (int p = 1; p < n_parts; p++)
            for (int64_t word = 0; word < CODE_WORDS; word++) bits[word] |= part_bits[p][word];
    for (int p = 1; p < n_parts; p++) free(part_bits[p]);
    if (!ok) return -1;
    int64_t total = 0;
    for (int64_t word = 0; word < CODE_WORDS; word++) {
        prefix[word] = (int32_t)total;
        total += __builtin_popcountll(bits[word]);
    }
    return total;
}

/* Mark the codes present among n RGB pixels in `bits` (CODE_WORDS words, zeroed by the caller)
 * and write the set bits before each word into `prefix` (CODE_WORDS). Returns the number of
 * distinct colours, -1 without memory. */
int64_t km_histogram_mark(int64_t n, const uint8_t *pixels, int32_t n_threads, uint64_t *bits, int32_t *prefix) {
    histogram_job job = {n, pixels, histogram_parts(n, n_threads), NULL, NULL, NULL, NULL};
    uint64_t *part_bits[MAX_THREADS] = {bits};
    int ok = 1;
    for (int p = 1; p < job.n_parts; p++) ok &= (part_bits[p] = calloc(CODE_WORDS, sizeof(uint64_t))) != NULL;
    if (ok) {
        job.bits = part_bits;
        for_each_chunk(job.n_parts, job.n_parts, mark_part, &job);
    }
    return merge_part_bits(job.n_parts, part_bits, ok, prefix);
}

/* From `km_histogram_mark`'s bitmap: each pixel's row among the sorted distinct codes
 * (`inverse`, n), the codes (`codes`, n_distinct) and the pixels per code (`counts`,
 * n_distinct, zeroed by the caller). Returns 0, -1 without memory. */
int km_histogram_rank(int64_t n, const uint8_t *pixels, int32_t n_threads, const uint64_t *bits,
                      const int32_t *prefix, int64_t n_distinct, int32_t *inverse, uint32_t *codes,
                      int64_t *counts) {
    histogram_job job = {n, pixels, histogram_parts(n, n_threads), (uint64_t **)&bits, prefix, inverse, NULL};
    int64_t *part_counts[MAX_THREADS] = {counts};
    int ok = 1;
    for (int p = 1; p < job.n_parts; p++) ok &= (part_counts[p] = calloc(n_distinct, sizeof(int64_t))) != NULL;
    if (ok) {
        job.counts = part_counts;
        for_each_chunk(job.n_parts, job.n_parts, rank_part, &job);
        for (int p = 1; p < job.n_parts; p++)
            for (int64_t row = 0; row < n_distinct; row++) counts[row] += part_counts[p][row];
    }
    for (int p = 1; p < job.n_parts; p++) free(part_counts[p]);
    if (!ok) return -1;
    int64_t row = 0;
    for (int64_t word = 0; word < CODE_WORDS; word++) {
        for (uint64_t rest = bits[word]; rest; rest &= rest - 1) codes[row++] = (uint32_t)(word * 64 + __builtin_ctzll(rest));
    }
    return 0;
}

/* ---- colour histogram of RGBA pixels: opaque ones in the RGB bitmap, translucent ones hashed -- */

/* Codes are r<<24 | g<<16 | b<<8 | a, as kmeans.py packs them; every fully transparent pixel is
 * code 0. Opaque pixels (most, in practice) are marked in the RGB bitmap above; translucent ones
 * (alpha 1..254, never code 0, so 0 marks an empty slot) go into an open-addressing hash table
 * that threads fill with compare-and-swap: the set of codes it ends up holding does not depend on
 * the thread count, and only that set is used. Ranking merges the sorted opaque codes with the
 * sorted translucent ones (a sort of the distinct translucent codes only, never of the pixels). */

typedef struct {
    int64_t n;
    const uint8_t *pixels; /* (n, 4) */
    int32_t n_parts;
    uint64_t **bits;        /* one bitmap per part; bits[0] is the caller's */
    const int32_t *prefix;
    uint32_t *table;        /* translucent codes, 0 = empty */
    int32_t table_bits;
    int64_t *transparent;   /* (n_parts,) fully transparent pixels per part */
    const int32_t *opaque_rows;  /* (n_opaque,) histogram row of each opaque code, in code order */
    const int32_t *table_rows;   /* (table size,) histogram row of the code in each slot */
    int32_t *inverse;
    int64_t **counts;
} rgba_job;

static inline uint32_t rgba_code(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t slot_of(uint32_t code, int32_t table_bits) {
    return (uint32_t)(code * 0x9E3779B1u) >> (32 - table_bits); /* Fibonacci hashing: the high bits */
}

/* The slot holding `code`, inserting it when `insert` (the table never fills: the caller sizes
 * it to at least twice the translucent pixels). */
static inline uint64_t find_slot(uint32_t *table, int32_t table_bits, uint32_t code, int insert) {
    const uint64_t mask = ((uint64_t)1 << table_bits) - 1;
    for (uint64_t slot = slot_of(code, table_bits);; slot = (slot + 1) & mask) {
        uint32_t seen = __atomic_load_n(&table[slot], __ATOMIC_RELAXED);
        if (seen == code) return slot;
        if (seen == 0) {
            if (!insert) return slot; /* not reached for codes that were inserted */
            uint32_t expected = 0;
            if (__atomic_compare_exchange_n(&table[slot], &expected, code, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
                return slot;
            if (expected == code) return slot; /* another thread put the same code here */
        }
    }
}

static void rgba_part_range(const rgba_job *job, int64_t part, int64_t *lo, int64_t *hi) {
    *lo = job->n * part / job->n_parts;
    *hi = job->n * (part + 1) / job->n_parts;
}

static void rgba_mark_part(void *ctx, int64_t part, int worker) {
    (void)worker;
    rgba_job *job = ctx;
    uint64_t *bits = job->bits[part];
    int64_t lo, hi, transparent = 0;
    rgba_part_range(job, part, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = job->pixels + 4 * i;
        if (p[3] == 255) {
            uint32_t code = rgb_code(p);
            bits[code >> 6] |= (uint64_t)1 << (code & 63);
        } else if (p[3] == 0) {
            transparent++;
        } else {
            find_slot(job->table, job->table_bits, rgba_code(p), 1);
        }
    }
    job->transparent[part] = transparent;
}

static void rgba_rank_part(void *ctx, int64_t part, int worker) {
    (void)worker;
    rgba_job *job = ctx;
    const uint64_t *bits = job->bits[0];
    int64_t *counts = job->counts[part];
    int64_t lo, hi;
    rgba_part_range(job, part, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        const uint8_t *p = job->pixels + 4 * i;
        int32_t row;
        if (p[3] == 255) {
            uint32_t code = rgb_code(p);
            uint64_t below = bits[code >> 6] & (((uint64_t)1 << (code & 63)) - 1);
            row = job->opaque_rows[job->prefix[code >> 6] + __builtin_popcountll(below)];
        } else if (p[3] == 0) {
            row = 0;
        } else {
            row = job->table_rows[find_slot(job->table, job->table_bits, rgba_code(p), 0)];
        }
        job->inverse[i] = row;
        counts[row]++;
    }
}

/* Sort n codes in place: LSD radix sort, a byte per pass (qsort's comparisons cost 4x more
 * here); `spare` holds n codes. */
static void sort_codes(uint32_t *codes, uint32_t *spare, int64_t n) {
    for (int shift = 0; shift < 32; shift += 8) {
        int64_t start[257] = {0};
        for (int64_t i = 0; i < n; i++) start[((codes[i] >> shift) & 255) + 1]++;
        for (int b = 0; b < 256; b++) start[b + 1] += start[b];
        for (int64_t i = 0; i < n; i++) spare[start[(codes[i] >> shift) & 255]++] = codes[i];
        uint32_t *sorted = spare;
        spare = codes;
        codes = sorted;
    }
    /* Four passes: the sorted codes are back in the caller's array. */
}

/* Mark the codes of n RGBA pixels: opaque ones in `bits` (CODE_WORDS words, zeroed), with the
 * set bits before each word in `prefix`; translucent ones in `table` (2^table_bits slots, zeroed,
 * at least twice the translucent pixels). counts3 gets the distinct opaque codes, the distinct
 * translucent codes and the fully transparent pixels. Returns 0, -1 without memory. */
int km_rgba_histogram_mark(int64_t n, const uint8_t *pixels, int32_t n_threads, uint64_t *bits, int32_t *prefix,
                           uint32_t *table, int32_t table_bits, int64_t *counts3) {
    int64_t transparent[MAX_THREADS] = {0};
    rgba_job job = {n, pixels, histogram_parts(n, n_threads), NULL, NULL, table, table_bits, transparent,
                    NULL, NULL, NULL, NULL};
    uint64_t *part_bits[MAX_THREADS] = {bits};
    int ok = 1;
    for (int p = 1; p < job.n_parts; p++) ok &= (part_bits[p] = calloc(CODE_WORDS, sizeof(uint64_t))) != NULL;
    if (ok) {
        job.bits = part_bits;
        for_each_chunk(job.n_parts, job.n_parts, rgba_mark_part, &job);
    }
    int64_t total = merge_part_bits(job.n_parts, part_bits, ok, prefix);
    if (total < 0) return -1;
    int64_t translucent = 0, transparent_pixels = 0;
    for (int64_t slot = 0; slot < ((int64_t)1 << table_bits); slot++) translucent += table[slot] != 0;
    for (int p = 0; p < job.n_parts; p++) transparent_pixels += transparent[p];
    counts3[0] = total;
    counts3[1] = translucent;
    counts3[2] = transparent_pixels;
    return 0;
}

/* From `km_rgba_histogram_mark`'s bitmap and table: the sorted distinct codes (`codes`,
 * n_distinct = the transparent code 0 if any + n_opaque + n_translucent), each pixel's row among
 * them (`inverse`, n) and the pixels per code (`counts`, n_distinct, zeroed). Returns 0, -1
 * without memory. */
int km_rgba_histogram_rank(int64_t n, const uint8_t *pixels, int32_t n_threads, const uint64_t *bits,
                           const int32_t *prefix, int64_t n_opaque, uint32_t *table, int32_t table_bits,
                           int64_t n_translucent, int32_t has_transparent, int32_t *inverse, uint32_t *codes,
                           int64_t *counts) {
    const int64_t table_size = (int64_t)1 << table_bits, n_distinct = has_transparent + n_opaque + n_translucent;
    uint32_t *translucent = malloc(sizeof(uint32_t) * (size_t)(n_translucent > 0 ? 2 * n_translucent : 1));
    int32_t *opaque_rows = malloc(sizeof(int32_t) * (size_t)(n_opaque > 0 ? n_opaque : 1));
    int32_t *table_rows = malloc(sizeof(int32_t) * (size_t)table_size);
    rgba_job job = {n, pixels, histogram_parts(n, n_threads), (uint64_t **)&bits, prefix, table, table_bits, NULL,
                    opaque_rows, table_rows, inverse, NULL};
    int64_t *part_counts[MAX_THREADS] = {counts};
    int ok = translucent && opaque_rows && table_rows;
    for (int p = 1; ok && p < job.n_parts; p++) ok &= (part_counts[p] = calloc(n_distinct, sizeof(int64_t))) != NULL;
    if (ok) {
        int64_t t = 0;
        for (int64_t slot = 0; slot < table_size; slot++)
            if (table[slot]) translucent[t++] = table[slot];
        sort_codes(translucent, translucent + n_translucent, n_translucent);
        /* Merge: transparent first (code 0), then opaque and translucent codes in code order. */
        int64_t row = 0, next_translucent = 0, next_opaque = 0;
        if (has_transparent) codes[row++] = 0;
        for (int64_t word = 0; word < CODE_WORDS; word++) {
            for (uint64_t rest = bits[word]; rest; rest &= rest - 1) {
                uint32_t code = ((uint32_t)(word * 64 + __builtin_ctzll(rest)) << 8) | 255u;
                while (next_translucent < n_translucent && translucent[next_translucent] < code) {
                    table_rows[find_slot(table, table_bits, translucent[next_translucent], 0)] = (int32_t)row;
                    codes[row++] = translucent[next_translucent++];
                }
                opaque_rows[next_opaque++] = (int32_t)row;
                codes[row++] = code;
            }
        }
        while (next_translucent < n_translucent) {
            table_rows[find_slot(table, table_bits, translucent[next_translucent], 0)] = (int32_t)row;
            codes[row++] = translucent[next_translucent++];
        }
        job.counts = part_counts;
        for_each_chunk(job.n_parts, job.n_parts, rgba_rank_part, &job);
        for (int p = 1; p < job.n_parts; p++)
            for (int64_t r = 0; r < n_distinct; r++) counts[r] += part_counts[p][r];
    }
    for (int p = 1; p < job.n_parts; p++) free(part_counts[p]);
    free(translucent);
    free(opaque_rows);
    free(table_rows);
    return ok ? 0 : -1;
}

/* ---- the finest grid of the coarse levels -------------------------------------------------- */

/* Put n points (n, d) in the cells of a grid of 2^bits cells per channel spanning the points'
 * range, and add each point's weight and weighted coordinates to its cell: cell_weight
 * (2^(bits*d)) and cell_sums (d, 2^(bits*d)), zeroed by the caller. Channel j's cell is
 * (int)((x_j - lo_j) * scale_j) in float32 (as numpy computes it on float32 columns), with
 * scale_j = (2^bits - 0.001) / (hi_j - lo_j); the cell key puts channel 0 in the high bits. */
void km_grid_sums(int64_t n, int32_t d, const float *x, const double *w, int32_t bits, double *cell_weight,
                  double *cell_sums) {
    int64_t n_cells = (int64_t)1 << (bits * d);
    float lo[4], hi[4], scale[4];
    for (int j = 0; j < d; j++) lo[j] = hi[j] = x[j];
    for (int64_t i = 1; i < n; i++) {
        for (int j = 0; j < d; j++) {
            float v = x[i * d + j];
            if (v < lo[j]) lo[j] = v;
            if (v > hi[j]) hi[j] = v;
        }
    }
    for (int j = 0; j < d; j++) {
        double range = (double)hi[j] - lo[j];
        scale[j] = (float)((((int64_t)1 << bits) - 1e-3) / (range > 1e-12 ? range : 1e-12));
    }
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * d;
        int64_t key = 0;
        for (int j = 0; j < d; j++) key = (key << bits) | (int64_t)((xi[j] - lo[j]) * scale[j]);
        cell_weight[key] += w[i];
        for (int j = 0; j < d; j++) cell_sums[j * n_cells + key] += w[i] * xi[j];
    }
}
