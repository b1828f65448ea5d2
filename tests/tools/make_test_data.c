/* Writes the small fake EMNIST bymerge database of the tests into a data directory, for
 * smoke runs where the real data is not there:
 *   make_test_data DIR   ->   DIR/emnist/emnist-bymerge-test-{images-idx3,labels-idx1}-ubyte.gz */
#include <stdio.h>

#include "testutil.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    if (tu_write_fake_emnist(argv[1], 47, 80) != 0) {
        fprintf(stderr, "make_test_data: cannot write the fake database under %s\n", argv[1]);
        return 1;
    }
    printf("%s/emnist: 47 classes x 80 fake images (database emnist_bymerge)\n", argv[1]);
    return 0;
}
