/* libFuzzer target: any bytes, read as an IDX file of labels and of images, must give
 * either a consistent result or an error message naming the input, never a crash. */
#include <stdlib.h>
#include <string.h>

#include "io/idx.h"
#include "metaplast/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n) {
    for (int ndims = 1; ndims <= 3; ndims += 2) {
        mp_idx idx;
        mp_err err;
        if (mp_idx_read_mem(bytes, n, "fuzz-input", ndims, &idx, &err) == 0) {
            size_t size = 1;
            for (int d = 0; d < idx.ndims; d++) size *= idx.dims[d];
            if (idx.ndims != ndims || idx.size != size || !idx.data) abort();
            mp_idx_free(&idx);
        } else if (strncmp(err.msg, "fuzz-input: ", 12) != 0) {
            abort();
        }
    }
    return 0;
}
