/* Selective serpentine Floyd-Steinberg: the dithered remap's inner loops in C.
 *
 * Declared in engine_native.h; remap.py documents the rule and owns its constants (the damping
 * table, the error limits). Two steps:
 *
 * - rm_contrast_levels: a per-pixel damping level 0..255 from the local contrast of the uint8
 *   pixels: the largest second difference (horizontal or vertical, any channel; RGBA colour
 *   premultiplied by alpha) in the pixel's 3x3 neighbourhood, looked up in the caller's table. Independent per pixel, so it runs in row
 *   bands over threads; the result does not depend on the thread count.
 * - rm_dither: the error diffusion itself, one sequential scan (its result depends on the order,
 *   so it never uses threads). Rows alternate direction; each pixel receives its pending error
 *   times strength * level / 255, limited in length (below min_error it is dropped, above
 *   max_error it is scaled down to it), adds it to its own colour, clips to the palette's box,
 *   takes the nearest palette entry and passes the difference on with the weights 7, 3, 5, 1 / 16.
 *
 * Colours are compared as `kmeans.py` clusters them (sRGB or OKLab, premultiplied by alpha for
 * RGBA), in double precision, with the squared Euclidean distance; ties go to the lower index.
 * The nearest entry is found among a short list of candidates per cell of a grid over the
 * palette's box (`palette_index`), exactly. Everything is plain IEEE double
 * arithmetic in a fixed order (-std=c11 keeps gcc from fusing multiply-adds), so the slow Python
 * reference in tests/engine/test_dither.py reproduces it bit for bit.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_native.h"
#include "parallel.h"

#define BAND_ROWS 64
/* Cells along the widest side of the palette's box: about 2^15 cells in 3-D, 2^16 in 4-D. */
#define GRID_SIDE_3 64
#define GRID_SIDE_4 24

/* ---- the contrast map ---------------------------------------------------------------------- */

typedef struct {
    int32_t height, width, channels;
    const uint8_t *pixels;
    const uint8_t *table; /* (511,) level per contrast 0..510 */
    uint8_t *levels;
    atomic_int failed;
} contrast_job;

/* A channel as the eye sees it: RGBA colour channels premultiplied by alpha (the colour hidden
 * under transparent pixels is no contrast), rounded; alpha and RGB channels as they are. */
static inline int seen(const uint8_t *p, int j, int c) {
    return c == 4 && j < 3 ? (p[j] * p[3] + 127) / 255 : p[j];
}

/* Largest |left + right - 2 centre| or |up + down - 2 centre| over the channels of pixel x of
 * `row` (borders repeat: `left`/`right` are x's neighbours' offsets, clamped by the caller). */
static inline uint16_t contrast_at(const uint8_t *up, const uint8_t *row, const uint8_t *down, int32_t at,
                                   int32_t left, int32_t right, int c) {
    int best = 0;
    for (int j = 0; j < c; j++) {
        int centre = 2 * seen(row + at, j, c);
        int horizontal = abs(seen(row + left, j, c) + seen(row + right, j, c) - centre);
        int vertical = abs(seen(up + at, j, c) + seen(down + at, j, c) - centre);
        best = horizontal > best ? horizontal : best;
        best = vertical > best ? vertical : best;
    }
    return (uint16_t)best;
}

static inline uint16_t max3(uint16_t a, uint16_t b, uint16_t c) {
    uint16_t m = a > b ? a : b;
    return m > c ? m : c;
}

/* One band of rows: the contrast of its rows and one more on each side, its maximum over three
 * columns, then over three rows, looked up in the table. */
static void contrast_band(void *ctx, int64_t band, int worker) {
    (void)worker;
    contrast_job *job = ctx;
    const int32_t w = job->width, h = job->height, c = job->channels;
    const int64_t stride = (int64_t)w * c;
    int32_t y0 = (int32_t)band * BAND_ROWS, y1 = y0 + BAND_ROWS < h ? y0 + BAND_ROWS : h;
    int32_t first = y0 > 0 ? y0 - 1 : 0, last = y1 < h ? y1 + 1 : y1;
    uint16_t *across = malloc(sizeof(uint16_t) * (size_t)(last - first) * w);
    uint16_t *contrast = malloc(sizeof(uint16_t) * (size_t)w);
    if (across == NULL || contrast == NULL) {
        free(across);
        free(contrast);
        atomic_store(&job->failed, 1);
        return;
    }
    for (int32_t y = first; y < last; y++) {
        const uint8_t *row = job->pixels + y * stride;
        const uint8_t *up = y > 0 ? row - stride : row, *down = y + 1 < h ? row + stride : row;
        contrast[0] = contrast_at(up, row, down, 0, 0, w > 1 ? c : 0, c);
        for (int32_t x = 1; x < w - 1; x++) contrast[x] = contrast_at(up, row, down, x * c, (x - 1) * c, (x + 1) * c, c);
        if (w > 1) contrast[w - 1] = contrast_at(up, row, down, (w - 1) * c, (w - 2) * c, (w - 1) * c, c);
        uint16_t *out = across + (int64_t)(y - first) * w;
        for (int32_t x = 0; x < w; x++) out[x] = max3(contrast[x > 0 ? x - 1 : x], contrast[x], contrast[x + 1 < w ? x + 1 : x]);
    }
    for (int32_t y = y0; y < y1; y++) {
        const uint16_t *mid = across + (int64_t)(y - first) * w;
        const uint16_t *above = y > first ? mid - w : mid, *under = y + 1 < last ? mid + w : mid;
        uint8_t *levels = job->levels + (int64_t)y * w;
        for (int32_t x = 0; x < w; x++) levels[x] = job->table[max3(above[x], mid[x], under[x])];
    }
    free(across);
    free(contrast);
}

int rm_contrast_levels(int32_t height, int32_t width, int32_t channels, const uint8_t *pixels,
                       const uint8_t *table, int32_t n_threads, uint8_t *levels) {
    contrast_job job = {height, width, channels, pixels, table, levels, 0};
    for_each_chunk((height + BAND_ROWS - 1) / BAND_ROWS, n_threads, contrast_band, &job);
    return atomic_load(&job.failed) ? -1 : 0;
}

/* ---- the error diffusion ------------------------------------------------------------------- */

/* Clustering coordinates of one sRGB(A) pixel (kmeans.py `_features`, in double precision).
 * oklab: NULL for sRGB, else 256 linear-light values of a byte, then the 3x3 matrices
 * linear sRGB -> LMS and cube-rooted LMS -> Lab, row-major. */
static inline void feature(const uint8_t *p, int channels, const double *oklab, double *out) {
    double alpha = channels == 4 ? p[3] * (1.0 / 255.0) : 1.0;
    if (oklab == NULL) {
        for (int j = 0; j < 3; j++) out[j] = p[j] * alpha;
        if (channels == 4) out[3] = p[3];
        return;
    }
    const double *linear = oklab, *to_lms = oklab + 256, *to_lab = oklab + 265;
    double r = linear[p[0]], g = linear[p[1]], b = linear[p[2]], lms[3];
    for (int i = 0; i < 3; i++) lms[i] = cbrt(to_lms[3 * i] * r + to_lms[3 * i + 1] * g + to_lms[3 * i + 2] * b);
    for (int i = 0; i < 3; i++)
        out[i] = (to_lab[3 * i] * lms[0] + to_lab[3 * i + 1] * lms[1] + to_lab[3 * i + 2] * lms[2]) * alpha;
    if (channels == 4) out[3] = alpha;
}

static inline double distance2(const double *a, const double *b, int d) {
    double e0 = a[0] - b[0], e1 = a[1] - b[1], e2 = a[2] - b[2];
    double out = e0 * e0 + e1 * e1 + e2 * e2;
    if (d == 4) {
        double e3 = a[3] - b[3];
        out += e3 * e3;
    }
    return out;
}

/* The palette's clustering coordinates, and a grid over their bounding box whose cells each list
 * (built on first use) the entries that can be nearest to some point of the cell: with c the
 * cell's centre, h its half-diagonal and m the distance from c to its nearest entry, an entry
 * nearest to a point x of the cell is within |x - c| + m + |x - c| <= m + 2h of c (triangle
 * inequality), so the list holds every entry within m + 2h of c, in index order. */
typedef struct {
    int32_t k, d;
    double *centers;        /* (k, d) */
    double low[4], high[4]; /* the box */
    double inv_size, reach; /* 1 / the cells' side; 2h plus rounding slack */
    int32_t axis_cells[4];
    int64_t n_cells;
    int32_t *start;         /* (n_cells,) offset of the cell's list in `lists`, -1 until built */
    uint8_t *lists;         /* per built cell: its length, then its entries */
    int64_t used, capacity;
    double *scratch;        /* (k,) distances while a list is built */
} palette_index;

static int palette_index_init(palette_index *pal, int32_t k, int32_t channels, const uint8_t *palette,
                              const double *oklab) {
    const int d = channels;
    memset(pal, 0, sizeof(*pal));
    pal->k = k;
    pal->d = d;
    pal->centers = malloc(sizeof(double) * (size_t)k * d);
    pal->scratch = malloc(sizeof(double) * (size_t)k);
    if (!pal->centers || !pal->scratch) return -1;
    for (int32_t c = 0; c < k; c++) feature(palette + (int64_t)c * d, d, oklab, pal->centers + (int64_t)c * d);
    for (int j = 0; j < d; j++) pal->low[j] = pal->high[j] = pal->centers[j];
    for (int32_t c = 1; c < k; c++)
        for (int j = 0; j < d; j++) {
            double v = pal->centers[(int64_t)c * d + j];
            if (v < pal->low[j]) pal->low[j] = v;
            if (v > pal->high[j]) pal->high[j] = v;
        }
    double widest = 0.0;
    for (int j = 0; j < d; j++) widest = pal->high[j] - pal->low[j] > widest ? pal->high[j] - pal->low[j] : widest;
    double size = widest > 0.0 ? widest / (d == 3 ? GRID_SIDE_3 : GRID_SIDE_4) : 1.0;
    pal->inv_size = 1.0 / size;
    pal->reach = size * sqrt((double)d) * (1.0 + 1e-6);
    pal->n_cells = 1;
    for (int j = 0; j < d; j++) {
        int32_t n = (int32_t)((pal->high[j] - pal->low[j]) * pal->inv_size) + 1;
        pal->axis_cells[j] = n;
        pal->n_cells *= n;
    }
    pal->start = malloc(sizeof(int32_t) * (size_t)pal->n_cells);
    pal->capacity = 1 << 16;
    pal->lists = malloc((size_t)pal->capacity);
    if (!pal->start || !pal->lists) return -1;
    for (int64_t cell = 0; cell < pal->n_cells; cell++) pal->start[cell] = -1;
    return 0;
}

static void palette_index_free(palette_index *pal) {
    free(pal->centers);
    free(pal->scratch);
    free(pal->start);
    free(pal->lists);
}

/* Build the list of cell `cell` (whose per-axis coordinates are `at`); NULL without memory. */
static __attribute__((noinline)) const uint8_t *build_cell_list(palette_index *pal, int64_t cell, const int32_t *at) {
    const int d = pal->d;
    double centre[4] = {0.0, 0.0, 0.0, 0.0}, nearest2 = INFINITY;
    for (int j = 0; j < d; j++) centre[j] = pal->low[j] + (at[j] + 0.5) / pal->inv_size;
    for (int32_t c = 0; c < pal->k; c++) {
        pal->scratch[c] = distance2(centre, pal->centers + (int64_t)c * d, d);
        if (pal->scratch[c] < nearest2) nearest2 = pal->scratch[c];
    }
    double radius = (sqrt(nearest2) + pal->reach) * (1.0 + 1e-9), radius2 = radius * radius;
    if (pal->used + pal->k + 1 > pal->capacity) {
        int64_t capacity = 2 * pal->capacity + pal->k + 1;
        uint8_t *grown = realloc(pal->lists, (size_t)capacity);
        if (grown == NULL) return NULL;
        pal->lists = grown;
        pal->capacity = capacity;
    }
    uint8_t *list = pal->lists + pal->used;
    int32_t n = 0;
    for (int32_t c = 0; c < pal->k; c++)
        if (pal->scratch[c] <= radius2) list[1 + n++] = (uint8_t)c;
    list[0] = (uint8_t)(n - 1); /* 1..256 entries stored as 0..255 */
    pal->start[cell] = (int32_t)pal->used; /* < 2^31: at most ~400k cells of <= 257 bytes */
    pal->used += n + 1;
    return list;
}

/* Nearest entry to `x` (inside the box), the lowest index among equals; -1 without memory.
 * The candidates are compared without branches: which one wins is what dithering makes hard to
 * predict. */
static inline __attribute__((always_inline)) int32_t nearest(const int d, palette_index *pal, const double *x) {
    int32_t at[4];
    int64_t cell = 0;
    for (int j = 0; j < d; j++) {
        int32_t i = (int32_t)((x[j] - pal->low[j]) * pal->inv_size);
        at[j] = i < 0 ? 0 : i >= pal->axis_cells[j] ? pal->axis_cells[j] - 1 : i;
        cell = cell * pal->axis_cells[j] + at[j];
    }
    const int32_t start = pal->start[cell];
    const uint8_t *list = start >= 0 ? pal->lists + start : build_cell_list(pal, cell, at);
    if (list == NULL) return -1;
    int32_t best = list[1];
    double best2 = distance2(x, pal->centers + (int64_t)best * d, d);
    for (int32_t t = 1; t <= list[0]; t++) {
        int32_t c = list[1 + t];
        double d2 = distance2(x, pal->centers + (int64_t)c * d, d);
        int nearer = d2 < best2;
        best = nearer ? c : best;
        best2 = nearer ? d2 : best2;
    }
    return best;
}

/* The scan, for d = 3 or 4 channels known at compile time (always inlined with a constant). */
static inline __attribute__((always_inline)) int dither_scan(
    const int d, palette_index *pal, int32_t height, int32_t width, const uint8_t *pixels, const double *oklab,
    const uint8_t *levels, double strength, double min_error, double max_error, int32_t transparent,
    double *this_row, double *next_row, uint8_t *indices) {
    const double *low = pal->low, *high = pal->high;
    const double min2 = min_error * min_error, max2 = max_error * max_error;
    double scales[256]; /* the share of the pending error accepted at each damping level */
    for (int level = 0; level < 256; level++) scales[level] = strength * (level / 255.0);
    for (int32_t y = 0; y < height; y++) {
        const int step = y % 2 == 0 ? 1 : -1;
        for (int32_t n = 0; n < width; n++) {
            const int32_t x = step > 0 ? n : width - 1 - n;
            const int64_t i = (int64_t)y * width + x;
            const uint8_t *p = pixels + i * d;
            if (d == 4 && p[3] == 0) {
                indices[i] = (uint8_t)transparent; /* sends no error; what it received is dropped */
                continue;
            }
            const int opaque = d == 4 && p[3] == 255; /* carries no alpha error */
            double wanted[4], error[4];
            const double *pending = this_row + (int64_t)(x + 1) * d;
            const double scale = scales[levels[i]];
            double length2 = 0.0;
            for (int j = 0; j < d; j++) {
                error[j] = j == 3 && opaque ? 0.0 : pending[j] * scale;
                length2 += error[j] * error[j];
            }
            if (length2 < min2) {
                for (int j = 0; j < d; j++) error[j] = 0.0;
            } else if (length2 > max2) {
                double shrink = max_error / sqrt(length2);
                for (int j = 0; j < d; j++) error[j] *= shrink;
            }
            feature(p, d, oklab, wanted);
            for (int j = 0; j < d; j++) {
                double v = wanted[j] + error[j];
                wanted[j] = v < low[j] ? low[j] : v > high[j] ? high[j] : v;
            }
            /* The previous pixel's entry is usually still the nearest: a cheap proof first. */
            int32_t choice = nearest(d, pal, wanted);
            if (choice < 0) return -1;
            indices[i] = (uint8_t)choice;
            const double *centre = pal->centers + (int64_t)choice * d;
            double *ahead = this_row + (int64_t)(x + 1 + step) * d;
            double *below_behind = next_row + (int64_t)(x + 1 - step) * d;
            double *below = next_row + (int64_t)(x + 1) * d;
            double *below_ahead = next_row + (int64_t)(x + 1 + step) * d;
            for (int j = 0; j < d; j++) {
                double e = j == 3 && opaque ? 0.0 : wanted[j] - centre[j];
                ahead[j] += e * (7.0 / 16.0);
                below_behind[j] += e * (3.0 / 16.0);
                below[j] += e * (5.0 / 16.0);
                below_ahead[j] += e * (1.0 / 16.0);
            }
        }
        double *done = this_row;
        this_row = next_row;
        next_row = done;
        memset(next_row, 0, sizeof(double) * (size_t)(width + 2) * d);
    }
    return 0;
}

int rm_dither(int32_t height, int32_t width, int32_t channels, const uint8_t *pixels, int32_t k,
              const uint8_t *palette, const double *oklab, const uint8_t *levels, double strength,
              double min_error, double max_error, uint8_t *indices) {
    palette_index pal;
    /* Two rows of pending error with one cell of padding at each end (errors sent off the image
     * land there and are dropped). */
    double *this_row = calloc((size_t)(width + 2) * channels, sizeof(double));
    double *next_row = calloc((size_t)(width + 2) * channels, sizeof(double));
    int status = -1;
    if (palette_index_init(&pal, k, channels, palette, oklab) == 0 && this_row && next_row) {
        int32_t transparent = 0;
        if (channels == 4)
            for (int32_t c = 1; c < k; c++)
                if (palette[(int64_t)c * 4 + 3] < palette[(int64_t)transparent * 4 + 3]) transparent = c;
        status = channels == 3
            ? dither_scan(3, &pal, height, width, pixels, oklab, levels, strength, min_error, max_error, transparent,
                          this_row, next_row, indices)
            : dither_scan(4, &pal, height, width, pixels, oklab, levels, strength, min_error, max_error, transparent,
                          this_row, next_row, indices);
    }
    palette_index_free(&pal);
    free(this_row);
    free(next_row);
    return status;
}
