/* Task draws on a small dataset built in memory. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "train/task.h"

/* A dataset of nclasses classes with the given sizes (no pixels: draws never read them).
 * Labels are dealt round-robin, so a class's images are not a contiguous range. */
static mp_dataset fake_dataset(int nclasses, const int *sizes) {
    mp_dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.nclasses = nclasses;
    for (int c = 0; c < nclasses; c++) ds.count += sizes[c];
    ds.labels = calloc((size_t)ds.count, sizeof *ds.labels);
    ds.class_start = calloc((size_t)nclasses + 1, sizeof *ds.class_start);
    ds.class_images = calloc((size_t)ds.count, sizeof *ds.class_images);
    /* deal labels round-robin over the classes that still have images left */
    int *left = malloc(sizeof *left * (size_t)nclasses);
    memcpy(left, sizes, sizeof *left * (size_t)nclasses);
    for (int i = 0, c = 0; i < ds.count; c = (c + 1) % nclasses) {
        if (left[c] == 0) continue;
        left[c]--;
        ds.labels[i++] = c;
    }
    free(left);
    ds.smallest_class = sizes[0];
    for (int c = 0; c < nclasses; c++) {
        ds.class_start[c + 1] = ds.class_start[c] + sizes[c];
        if (sizes[c] < ds.smallest_class) ds.smallest_class = sizes[c];
    }
    int *fill = calloc((size_t)nclasses, sizeof *fill);
    for (int i = 0; i < ds.count; i++) {
        int c = ds.labels[i];
        ds.class_images[ds.class_start[c] + fill[c]++] = i;
    }
    free(fill);
    return ds;
}

static void free_fake(mp_dataset *ds) {
    free(ds->labels);
    free(ds->class_start);
    free(ds->class_images);
}

/* Checks everything a task promises: M distinct classes; K train and Q query images of
 * each, of that class, all distinct; query grouped by class; train a mix of exactly K
 * images of each chosen class. */
static void check_task(const mp_task *t, const mp_dataset *ds) {
    int *used = calloc((size_t)ds->count, sizeof *used);
    int *per_class = calloc((size_t)ds->nclasses, sizeof *per_class);
    for (int i = 0; i < t->M; i++) {
        int c = t->classes[i];
        assert_true(c >= 0 && c < ds->nclasses);
        for (int j = 0; j < i; j++) assert_int_not_equal(t->classes[j], c);
        for (int q = 0; q < t->Q; q++) {
            int img = t->query[i * t->Q + q];
            assert_int_equal(ds->labels[img], c);
            assert_int_equal(used[img]++, 0);
        }
    }
    for (int k = 0; k < t->M * t->K; k++) {
        int img = t->train[k];
        assert_true(img >= 0 && img < ds->count);
        assert_int_equal(used[img]++, 0);
        per_class[ds->labels[img]]++;
    }
    for (int i = 0; i < t->M; i++) assert_int_equal(per_class[t->classes[i]], t->K);
    free(used);
    free(per_class);
}

static int same_task(const mp_task *a, const mp_task *b) {
    return memcmp(a->classes, b->classes, sizeof *a->classes * (size_t)a->M) == 0 &&
           memcmp(a->train, b->train, sizeof *a->train * (size_t)(a->M * a->K)) == 0 &&
           memcmp(a->query, b->query, sizeof *a->query * (size_t)(a->M * a->Q)) == 0;
}

static const int sizes10[10] = {30, 31, 32, 33, 34, 35, 36, 37, 38, 39};

static void test_task_is_valid(void **state) {
    (void)state;
    mp_dataset ds = fake_dataset(10, sizes10);
    mp_task t;
    mp_task_init(&t, 4, 6, 3);
    mp_rng rng;
    mp_rng_seed(&rng, 1);
    for (int e = 0; e < 200; e++) {
        mp_task_draw(&t, &ds, &rng);
        check_task(&t, &ds);
    }
    mp_task_free(&t);
    free_fake(&ds);
}

static void test_same_seed_same_task(void **state) {
    (void)state;
    mp_dataset ds = fake_dataset(10, sizes10);
    mp_task a, b, c;
    mp_task_init(&a, 3, 5, 2);
    mp_task_init(&b, 3, 5, 2);
    mp_task_init(&c, 3, 5, 2);
    mp_rng ra, rb, rc;
    mp_rng_seed(&ra, 2023);
    mp_rng_seed(&rb, 2023);
    mp_rng_seed(&rc, 2024);
    for (int e = 0; e < 20; e++) {
        mp_task_draw(&a, &ds, &ra);
        mp_task_draw(&b, &ds, &rb);
        mp_task_draw(&c, &ds, &rc);
        assert_true(same_task(&a, &b));
        assert_false(same_task(&a, &c));
    }
    /* successive tasks of one stream differ too */
    mp_task_draw(&b, &ds, &ra);
    assert_false(same_task(&a, &b));
    mp_task_free(&a);
    mp_task_free(&b);
    mp_task_free(&c);
    free_fake(&ds);
}

/* A pool (--classes): tasks use only its classes, every one of them over many draws; a
 * pool of every class draws exactly the tasks of no pool (the runs made before it). */
static void test_class_pool(void **state) {
    (void)state;
    mp_dataset ds = fake_dataset(10, sizes10);
    int pool[4] = {1, 4, 5, 8}, seen[10] = {0};
    ds.pool = pool, ds.npool = 4, ds.pool_smallest = 31;
    mp_task t, u;
    mp_task_init(&t, 3, 5, 2);
    mp_task_init(&u, 3, 5, 2);
    mp_rng rng, rng2;
    mp_rng_seed(&rng, 5);
    for (int e = 0; e < 300; e++) {
        mp_task_draw(&t, &ds, &rng);
        check_task(&t, &ds);
        for (int i = 0; i < t.M; i++) seen[t.classes[i]]++;
    }
    for (int c = 0; c < 10; c++) {
        int in_pool = c == 1 || c == 4 || c == 5 || c == 8;
        if (in_pool ? seen[c] == 0 : seen[c] != 0) fail_msg("class %d drawn %d times", c, seen[c]);
    }
    int all[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    mp_rng_seed(&rng, 6);
    mp_rng_seed(&rng2, 6);
    for (int e = 0; e < 50; e++) {
        ds.pool = all, ds.npool = 10, ds.pool_smallest = 30;
        mp_task_draw(&t, &ds, &rng);
        ds.pool = NULL;
        mp_task_draw(&u, &ds, &rng2);
        assert_true(same_task(&t, &u));
    }
    mp_task_free(&t);
    mp_task_free(&u);
    free_fake(&ds);
}

/* Over many draws every image serves, both as a training and as a query image, and the
 * training order is not grouped by class. */
static void test_coverage_and_shuffle(void **state) {
    (void)state;
    mp_dataset ds = fake_dataset(10, sizes10);
    int *as_train = calloc((size_t)ds.count, sizeof *as_train);
    int *as_query = calloc((size_t)ds.count, sizeof *as_query);
    mp_task t;
    mp_task_init(&t, 3, 4, 2);
    mp_rng rng;
    mp_rng_seed(&rng, 8);
    int first_class_count[10] = {0}, interleaved = 0;
    for (int e = 0; e < 3000; e++) {
        mp_task_draw(&t, &ds, &rng);
        for (int k = 0; k < t.M * t.K; k++) as_train[t.train[k]]++;
        for (int q = 0; q < t.M * t.Q; q++) as_query[t.query[q]]++;
        first_class_count[t.classes[0]]++;
        /* grouped would mean the first K training images share one class */
        for (int k = 1; k < t.K; k++) interleaved += ds.labels[t.train[k]] != ds.labels[t.train[0]];
    }
    for (int i = 0; i < ds.count; i++) {
        assert_true(as_train[i] > 0);
        assert_true(as_query[i] > 0);
    }
    for (int c = 0; c < 10; c++) assert_true(first_class_count[c] > 200); /* expected 300 */
    assert_true(interleaved > 0);
    mp_task_free(&t);
    free(as_train);
    free(as_query);
    free_fake(&ds);
}

/* M = every class and K+Q = the smallest class: that class is used whole. */
static void test_edge_sizes(void **state) {
    (void)state;
    static const int sizes[4] = {7, 5, 9, 6};
    mp_dataset ds = fake_dataset(4, sizes);
    mp_task t;
    mp_task_init(&t, 4, 3, 2);
    mp_rng rng;
    mp_rng_seed(&rng, 99);
    for (int e = 0; e < 50; e++) {
        mp_task_draw(&t, &ds, &rng);
        check_task(&t, &ds);
        int present[4] = {0};
        for (int i = 0; i < 4; i++) present[t.classes[i]] = 1;
        for (int c = 0; c < 4; c++) assert_true(present[c]);
        int of_smallest = 0;
        for (int k = 0; k < t.M * t.K; k++) of_smallest += ds.labels[t.train[k]] == 1;
        for (int q = 0; q < t.M * t.Q; q++) of_smallest += ds.labels[t.query[q]] == 1;
        assert_int_equal(of_smallest, 5);
    }
    mp_task_free(&t);

    /* a single class, K = 1, Q = 1, two images */
    static const int two[1] = {2};
    mp_dataset tiny = fake_dataset(1, two);
    mp_task_init(&t, 1, 1, 1);
    mp_task_draw(&t, &tiny, &rng);
    check_task(&t, &tiny);
    assert_int_equal(t.train[0] + t.query[0], 1);
    mp_task_free(&t);
    free_fake(&tiny);
    free_fake(&ds);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_task_is_valid),
        cmocka_unit_test(test_same_seed_same_task), cmocka_unit_test(test_class_pool),
        cmocka_unit_test(test_coverage_and_shuffle),
        cmocka_unit_test(test_edge_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
