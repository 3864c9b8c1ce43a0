/* Every function the engine's C loops export, and the one struct they share with Python.
 *
 * The single declaration of the interface: the C files include it (so a definition that drifts
 * from it fails to compile) and the cffi build (build.py) reads it as its cdef (so the Python
 * bindings are generated from the same text and checked against it at compile time). Keep it to
 * plain declarations with <stdint.h> types: build.py drops the preprocessor lines.
 */
#ifndef ENGINE_NATIVE_H
#define ENGINE_NATIVE_H

#include <stdint.h>

/* The state of one weighted Lloyd run; the caller owns every array. */
typedef struct {
    int64_t n;          /* points */
    int32_t d;          /* channels: 3 or 4 */
    int32_t k;          /* centres, 1..256 */
    int32_t n_threads;
    const float *x;     /* (n, d) coordinates */
    const double *w;    /* (n,) weights (pixel counts) */
    int32_t *labels;    /* (n,) */
    double *upper;      /* (n,) upper bound on the distance to the own centre */
    double *lower;      /* (n,) lower bound on the distance to every other centre */
    double *centers;    /* (k, d) */
    double *sums;       /* (k, d) weighted coordinate sums per cluster */
    double *weight;     /* (k,) total weight per cluster */
    double *sq;         /* (k,) weighted squared norms per cluster */
} km_state;

/* kmeans.c: k-means++, Lloyd, the RGB and RGBA colour histograms, the coarse grid's sums. */
int km_assign(km_state *s);
int64_t km_move(km_state *s, const double *new_centers);
int km_lloyd(km_state *s, int32_t max_iter, double tol_abs, double *history, int32_t *n_iter,
             double *final_inertia);
int km_plusplus(int64_t n, int32_t d, const float *x, const double *w, int32_t k, int32_t n_trials,
                const double *uniforms, double *centers);
int64_t km_histogram_mark(int64_t n, const uint8_t *pixels, int32_t n_threads, uint64_t *bits, int32_t *prefix);
int km_histogram_rank(int64_t n, const uint8_t *pixels, int32_t n_threads, const uint64_t *bits,
                      const int32_t *prefix, int64_t n_distinct, int32_t *inverse, uint32_t *codes,
                      int64_t *counts);
int km_rgba_histogram_mark(int64_t n, const uint8_t *pixels, int32_t n_threads, uint64_t *bits, int32_t *prefix,
                           uint32_t *table, int32_t table_bits, int64_t *counts3);
int km_rgba_histogram_rank(int64_t n, const uint8_t *pixels, int32_t n_threads, const uint64_t *bits,
                           const int32_t *prefix, int64_t n_opaque, uint32_t *table, int32_t table_bits,
                           int64_t n_translucent, int32_t has_transparent, int32_t *inverse, uint32_t *codes,
                           int64_t *counts);
void km_grid_sums(int64_t n, int32_t d, const float *x, const double *w, int32_t bits, double *cell_weight,
                  double *cell_sums);

/* remap.c: the damping levels of the local contrast, and selective serpentine Floyd-Steinberg. */
int rm_contrast_levels(int32_t height, int32_t width, int32_t channels, const uint8_t *pixels,
                       const uint8_t *table, int32_t n_threads, uint8_t *levels);
int rm_dither(int32_t height, int32_t width, int32_t channels, const uint8_t *pixels, int32_t k,
              const uint8_t *palette, const double *oklab, const uint8_t *levels, double strength,
              double min_error, double max_error, uint8_t *indices);

/* metrics.c: PSNR's squared errors and SSIM's sums, band by band. */
int mt_metrics(int32_t height, int32_t width,
               const uint8_t *a, int64_t a_stride, int32_t a_channels,
               const uint8_t *b, int64_t b_stride, int32_t b_channels, const uint8_t *table,
               int32_t band_rows, int32_t n_threads, int32_t want_ssim, double c1, double c2, int32_t background,
               int64_t *band_error, double *band_ssim);

/* The hash of the sources this library was compiled from (build.py bakes it in). */
const char *native_build_id(void);

#endif
