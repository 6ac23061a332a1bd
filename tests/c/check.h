/*
 * check.h - a tiny test harness for toykv's C tests.
 *
 * CHECK(cond) and CHECK_EQ(a, b) record a failure with file:line and the failing expression
 * and carry on, so one run reports every broken promise rather than the first. Each test is
 * a plain function run through RUN_TEST(fn), which prints its name; check_summary() prints
 * the number of checks, then exactly one line "N passed, N failed" counting tests (a test
 * passes when none of its checks failed; a program without RUN_TEST is one test), and
 * returns the process exit code (non-zero on any failure, or when nothing was checked).
 *
 * The counters are guarded by a mutex, so CHECK may be used from several threads at once
 * (test_threads.c does). Everything here is static or static inline: include it from one
 * translation unit per test program. Failures go to stderr, progress and the summary to
 * stdout; both are flushed per line so interleaving stays readable under valgrind.
 */
#ifndef TOYKV_CHECK_H
#define TOYKV_CHECK_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
    pthread_mutex_t lock;
    long passed;
    long failed;
    long tests_passed;
    long tests_failed;
} check_state = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};

/* Records one outcome; returns ok so callers can skip dependent steps on failure. */
static inline int check_record(int ok, const char *file, int line, const char *what) {
    pthread_mutex_lock(&check_state.lock);
    if (ok) {
        check_state.passed++;
    } else {
        check_state.failed++;
        fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what);
        fflush(stderr);
    }
    pthread_mutex_unlock(&check_state.lock);
    return ok;
}

/* Like check_record, with the two sides of a comparison in the message. */
static inline int check_record_eq(long long a, long long b, const char *file, int line,
                                  const char *a_text, const char *b_text) {
    if (a != b) {
        char what[512];
        snprintf(what, sizeof what, "%s == %s (%lld != %lld)", a_text, b_text, a, b);
        return check_record(0, file, line, what);
    }
    return check_record(1, file, line, "");
}

/* Evaluates to 1 when the check held, 0 when it failed (and was recorded). */
#define CHECK(cond) check_record(!!(cond), __FILE__, __LINE__, #cond)
/* Integer equality: both sides are printed on failure. */
#define CHECK_EQ(a, b) \
    check_record_eq((long long)(a), (long long)(b), __FILE__, __LINE__, #a, #b)
/* Records a failure with a free-form message (for failures found by a loop). */
#define FAIL(msg) check_record(0, __FILE__, __LINE__, (msg))

static inline long check_failures(void) {
    long failed;
    pthread_mutex_lock(&check_state.lock);
    failed = check_state.failed;
    pthread_mutex_unlock(&check_state.lock);
    return failed;
}

/* Counts one finished test: failed when any check failed since `failures_before`. */
static inline void check_test_done(long failures_before) {
    int failed = check_failures() > failures_before;
    pthread_mutex_lock(&check_state.lock);
    if (failed) {
        check_state.tests_failed++;
    } else {
        check_state.tests_passed++;
    }
    pthread_mutex_unlock(&check_state.lock);
}

/* Runs one test function, announcing it so a failure's line can be placed in context. */
#define RUN_TEST(fn)                                 \
    do {                                             \
        long check_failures_before = check_failures(); \
        printf("-- %s\n", #fn);                      \
        fflush(stdout);                              \
        fn();                                        \
        check_test_done(check_failures_before);      \
    } while (0)

/* Prints the check count, then "N passed, N failed" (tests) alone on its line; returns the
 * exit status for main. */
static inline int check_summary(void) {
    long passed, failed, tests_passed, tests_failed;
    pthread_mutex_lock(&check_state.lock);
    passed = check_state.passed;
    failed = check_state.failed;
    tests_passed = check_state.tests_passed;
    tests_failed = check_state.tests_failed;
    pthread_mutex_unlock(&check_state.lock);
    if (tests_passed + tests_failed == 0) {
        /* No RUN_TEST: the whole program is one test. */
        tests_passed = failed == 0;
        tests_failed = failed != 0;
    }
    printf("checks: %ld held, %ld failed\n", passed, failed);
    printf("%ld passed, %ld failed\n", tests_passed, tests_failed);
    fflush(stdout);
    return (failed > 0 || passed == 0) ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* TOYKV_CHECK_H */
