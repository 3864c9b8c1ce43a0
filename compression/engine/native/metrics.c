/* PSNR's squared error and the sum of SSIM's map: metrics.py's pixel loop in C.
 *
 * Declared in engine_native.h and called through its cffi bindings; metrics.py documents the
 * semantics (scikit-image's structural_similarity with a 7x7 uniform window) and picks the band
 * height and the thread count. Plain C11, no Python API, no allocation that outlives a call.
 *
 * The image is cut into bands of rows; a band is one pass down its rows (plus 3 rows of context
 * either side for SSIM). Each row of both images is read once into planar, composited RGB (an
 * original pixel through its alpha, a palette image through its indices and a composited table)
 * and kept in a ring of the last 8 rows. Per channel and column, running sums over the last 7 rows
 * of x, y, x^2 + y^2 and xy are updated by adding the new row and subtracting the one 7 rows up;
 * a window's sums are then 7 of those column sums. Every sum is an exact int32; the ratio of a
 * window is computed from them in double (every product stays below 2^53, so only the last
 * multiplications and the division round). PSNR's squared error is exact in int64.
 *
 * Threads take whole bands and write each band's results to its own slot, so results do not
 * depend on the thread count.
 */
#include <stdint.h>
#include <stdlib.h>

#include "engine_native.h"
#include "parallel.h"

#define WIN 7
#define HALF (WIN / 2)
#define NP (WIN * WIN)
#define RING 8             /* rows kept: the 7 of a window and the one leaving it */
#define SE_CHUNK 65536     /* values whose squared errors (at most 255^2 each) a uint32 can sum */

/* Per-thread buffers, reused by every band the thread takes. */
typedef struct {
    uint8_t *rows;          /* RING rows then one zero row, each 6 planes: x RGB, y RGB */
    int32_t *columns;       /* (channel, quantity, column) running column sums */
    double *ratio;          /* (channel, window) SSIM of one row of windows */
} scratch;

typedef struct {
    int32_t height, width;
    const uint8_t *a;       /* rows of a_stride bytes, a_channels (3 or 4) bytes per pixel */
    int64_t a_stride;
    int32_t a_channels;
    const uint8_t *b;       /* the same, or indices into `table` (one byte per pixel) */
    int64_t b_stride;
    int32_t b_channels;
    const uint8_t *table;   /* NULL, or 256 x 3 composited RGB */
    int32_t band_rows, n_bands, ssim, background;
    double c1, c2;          /* SSIM's (K1 L)^2 and (K2 L)^2 */
    int64_t *band_error;    /* (n_bands,) out */
    double *band_ssim;      /* (n_bands,) out */
    scratch *scratch;       /* one set of buffers per worker */
} mt_job;

/* One row as 3 planes of `w` bytes: RGB, RGBA over `background`, or indices through `table`. */
static void load_row(const uint8_t *restrict row, int32_t channels, const uint8_t *restrict table,
                     int32_t background, size_t w, uint8_t *restrict out)
{
    uint8_t *restrict r = out, *restrict g = out + w, *restrict b = out + 2 * w;
    if (table) {
        for (size_t j = 0; j < w; j++) {
            const uint8_t *e = table + 3 * (size_t)row[j];
            r[j] = e[0];
            g[j] = e[1];
            b[j] = e[2];
        }
    } else if (channels == 3) {
        for (size_t j = 0; j < w; j++) {
            r[j] = row[3 * j];
            g[j] = row[3 * j + 1];
            b[j] = row[3 * j + 2];
        }
    } else {
        /* metrics._composite, exactly: (v*a + background*(255 - a) + 127) // 255 */
        for (size_t j = 0; j < w; j++) {
            uint32_t a = row[4 * j + 3], rest = (uint32_t)background * (255 - a) + 127;
            r[j] = (uint8_t)((row[4 * j] * a + rest) / 255);
            g[j] = (uint8_t)((row[4 * j + 1] * a + rest) / 255);
            b[j] = (uint8_t)((row[4 * j + 2] * a + rest) / 255);
        }
    }
}

static int64_t squared_error(const uint8_t *restrict x, const uint8_t *restrict y, size_t n)
{
    int64_t total = 0;
    for (size_t j0 = 0; j0 < n; j0 += SE_CHUNK) {
        size_t j1 = j0 + SE_CHUNK < n ? j0 + SE_CHUNK : n;
        uint32_t acc = 0;
        for (size_t j = j0; j < j1; j++) {
            int32_t d = (int32_t)x[j] - (int32_t)y[j];
            acc += (uint32_t)(d * d);
        }
        total += acc;
    }
    return total;
}

/* Column sums of one channel: add row (xn, yn), remove row (xo, yo). */
static void update_columns(int32_t *restrict sx, int32_t *restrict sy, int32_t *restrict sq, int32_t *restrict sxy,
                           const uint8_t *restrict xn, const uint8_t *restrict yn,
                           const uint8_t *restrict xo, const uint8_t *restrict yo, size_t w)
{
    for (size_t j = 0; j < w; j++) {
        int32_t a = xn[j], b = yn[j], c = xo[j], d = yo[j];
        sx[j] += a - c;
        sy[j] += b - d;
        sq[j] += a * a + b * b - c * c - d * d;
        sxy[j] += a * b - c * d;
    }
}

/* SSIM of the windows starting at columns 0..n-1 of one channel, from its column sums.
 * Every term is scaled by NP^2, which keeps the numerators integers: NP^2 * 2 mu_x mu_y = 2ab,
 * NP^2 * sigma_xy = (NP * sum xy - ab) * NP / (NP - 1), and so on (a, b: the sums of x and y). */
static void window_ratios(const int32_t *restrict cx, const int32_t *restrict cy, const int32_t *restrict cq,
                          const int32_t *restrict cxy, size_t n, double c1, double c2, double *restrict ratio)
{
    const double cov_norm = (double)NP / (NP - 1);
    const double c1n = c1 * NP * NP, c2n = c2 * NP * NP;
    for (size_t j = 0; j < n; j++) {
        int32_t sx = 0, sy = 0, sq = 0, sxy = 0;
        for (int k = 0; k < WIN; k++) {
            sx += cx[j + k];
            sy += cy[j + k];
            sq += cq[j + k];
            sxy += cxy[j + k];
        }
        double a = sx, b = sy, ab = a * b, squares = a * a + b * b;
        double num = (2 * ab + c1n) * (2 * cov_norm * (NP * (double)sxy - ab) + c2n);
        double den = (squares + c1n) * (cov_norm * (NP * (double)sq - squares) + c2n);
        ratio[j] = num / den;
    }
}

/* Sum in a fixed order (4 running partial sums). */
static double sum(const double *v, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += v[j];
        s1 += v[j + 1];
        s2 += v[j + 2];
        s3 += v[j + 3];
    }
    for (; j < n; j++)
        s0 += v[j];
    return (s0 + s1) + (s2 + s3);
}

/* Band `band`: the squared errors of its rows' pixels and the SSIM of every channel of every
 * window centred on one of its rows (windows lie fully inside the image). */
static void run_band(const mt_job *J, scratch *S, int32_t band)
{
    const size_t w = (size_t)J->width, plane = 3 * w, row_bytes = 2 * plane;
    const int32_t start = band * J->band_rows;
    const int32_t stop = start + J->band_rows < J->height ? start + J->band_rows : J->height;
    const int32_t first = start > HALF ? start : HALF;
    const int32_t last = stop < J->height - HALF ? stop : J->height - HALF;
    const int with_ssim = J->ssim && first < last;
    const int32_t lo = with_ssim ? first - HALF : start, hi = with_ssim ? last + HALF : stop;
    const size_t n_windows = w - (WIN - 1);
    const uint8_t *zero = S->rows + RING * row_bytes;

    if (with_ssim)
        for (size_t i = 0; i < 3 * 4 * w; i++)
            S->columns[i] = 0;
    int64_t error = 0;
    double total = 0;
    for (int32_t r = lo; r < hi; r++) {
        const int32_t i = r - lo;
        uint8_t *now = S->rows + (size_t)(i % RING) * row_bytes;
        load_row(J->a + r * J->a_stride, J->a_channels, NULL, J->background, w, now);
        load_row(J->b + r * J->b_stride, J->b_channels, J->table, J->background, w, now + plane);
        if (r >= start && r < stop)
            error += squared_error(now, now + plane, plane);
        if (!with_ssim)
            continue;
        const uint8_t *old = i >= WIN ? S->rows + (size_t)((i - WIN) % RING) * row_bytes : zero;
        for (size_t c = 0; c < 3; c++) {
            int32_t *col = S->columns + c * 4 * w;
            update_columns(col, col + w, col + 2 * w, col + 3 * w, now + c * w, now + plane + c * w,
                           old + c * w, old + plane + c * w, w);
        }
        if (i >= WIN - 1) { /* the windows of rows r-6..r, centred on row r-3 */
            for (size_t c = 0; c < 3; c++) {
                const int32_t *col = S->columns + c * 4 * w;
                window_ratios(col, col + w, col + 2 * w, col + 3 * w, n_windows, J->c1, J->c2,
                              S->ratio + c * n_windows);
            }
            total += sum(S->ratio, 3 * n_windows);
        }
    }
    J->band_error[band] = error;
    J->band_ssim[band] = total;
}

static void band_chunk(void *ctx, int64_t band, int worker)
{
    const mt_job *J = ctx;
    run_band(J, &J->scratch[worker], (int32_t)band);
}

/* Squared errors and SSIM sums of two height x width images, band by band.
 *
 * a: rows of `a_stride` bytes, `a_channels` (3 or 4) bytes per pixel. b: the same, or, when
 * `table` is given, rows of one-byte indices into `table` (256 x 3 composited RGB). RGBA pixels
 * are composited over `background`. Band i holds rows [i*band_rows, (i+1)*band_rows); for each,
 * band_error[i] is the sum of its pixels' squared errors (3 channels each) and band_ssim[i] the
 * sum of the SSIM (constants c1, c2) of every channel of every 7x7 window centred on one of its
 * rows, or 0 when `want_ssim` is 0 or the image is smaller than a window. Up to n_threads
 * threads, this one included. Returns 0, or -1 when out of memory.
 */
int mt_metrics(int32_t height, int32_t width,
               const uint8_t *a, int64_t a_stride, int32_t a_channels,
               const uint8_t *b, int64_t b_stride, int32_t b_channels, const uint8_t *table,
               int32_t band_rows, int32_t n_threads, int32_t want_ssim, double c1, double c2, int32_t background,
               int64_t *band_error, double *band_ssim)
{
    if (height <= 0 || width <= 0 || band_rows <= 0)
        return 0;
    mt_job J = {
        height, width, a, a_stride, a_channels, b, b_stride, b_channels, table,
        band_rows, (int32_t)((height + (int64_t)band_rows - 1) / band_rows),
        want_ssim && height >= WIN && width >= WIN, background, c1, c2, band_error, band_ssim, NULL,
    };
    const size_t w = (size_t)width;
    int workers = chunk_workers(J.n_bands, n_threads), ok = 1;
    scratch buffers[MAX_THREADS] = {{0}};
    for (int t = 0; t < workers; t++) {
        buffers[t].rows = calloc((RING + 1) * 6 * w, 1);
        if (J.ssim) {
            buffers[t].columns = malloc(3 * 4 * w * sizeof(int32_t));
            buffers[t].ratio = malloc(3 * (w - (WIN - 1)) * sizeof(double));
        }
        ok &= buffers[t].rows && (!J.ssim || (buffers[t].columns && buffers[t].ratio));
    }
    if (ok) {
        J.scratch = buffers;
        for_each_chunk(J.n_bands, workers, band_chunk, &J);
    }
    for (int t = 0; t < workers; t++) {
        free(buffers[t].rows);
        free(buffers[t].columns);
        free(buffers[t].ratio);
    }
    return ok ? 0 : -1;
}
