/* Lesson 03: the prime-counting kernel bound with the C API, twice.
 *
 * count_primes_nogil releases the GIL around each chunk of C work with
 * Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS, so other Python threads run meanwhile.
 * count_primes_gil is its twin that keeps the GIL: threads calling it take turns.
 * Between chunks both check for Ctrl-C (PyErr_CheckSignals), so an interrupt stops a
 * long call within a fraction of a second. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_primes_core.h"

/* Convert one argument to a long long; *overflow is -1/+1 when it does not fit. */
static int as_long_long(PyObject *obj, long long *out, int *overflow)
{
    PyObject *index = PyNumber_Index(obj);
    if (index == NULL)
        return -1;
    *out = PyLong_AsLongLongAndOverflow(index, overflow);
    Py_DECREF(index);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* The same checks and messages as parlab/kernels/_checks.py:check_range. */
static int parse_range(PyObject *args, long long *lo, long long *hi)
{
    PyObject *start, *stop;
    int start_over = 0, stop_over = 0;
    if (!PyArg_ParseTuple(args, "OO", &start, &stop))
        return -1;
    if (as_long_long(start, lo, &start_over) < 0 || as_long_long(stop, hi, &stop_over) < 0) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "start and stop must be whole numbers (int), got %R and %R",
                         start, stop);
        }
        return -1;
    }
    if (stop_over < 0)       /* a stop far below zero: an empty range, as in Python */
        *hi = 0;
    if (start_over > 0)      /* a start far above any valid stop: empty too */
        *lo = PARLAB_MAX_STOP;
    if (start_over < 0 || *lo < 0 || stop_over > 0 || *hi > PARLAB_MAX_STOP) {
        PyErr_Format(PyExc_ValueError, "count_primes needs 0 <= start and stop <= 2**62, "
                     "got start=%S, stop=%S", start, stop);
        return -1;
    }
    if (*lo < 2)
        *lo = 2;
    return 0;
}

PyDoc_STRVAR(nogil_doc, "count_primes_nogil(start, stop)\n--\n\n"
             "Count primes in [start, stop), releasing the GIL during the C work (lesson 03).");

static PyObject *count_primes_nogil(PyObject *self, PyObject *args)
{
    long long lo, end, hi, count = 0, step;
    if (parse_range(args, &lo, &end) < 0)
        return NULL;
    step = parlab_chunk_size(end);
    for (; lo < end; lo = hi) {
        hi = (end - lo > step) ? lo + step : end;
        Py_BEGIN_ALLOW_THREADS   /* from here to the END macro: no Python object may be touched */
        count += parlab_count_range(lo, hi);
        Py_END_ALLOW_THREADS     /* the GIL is ours again */
        if (PyErr_CheckSignals() < 0)   /* Ctrl-C: raise KeyboardInterrupt now */
            return NULL;
    }
    return PyLong_FromLongLong(count);
}

PyDoc_STRVAR(gil_doc, "count_primes_gil(start, stop)\n--\n\n"
             "Count primes in [start, stop), holding the GIL all along (lesson 03).");

static PyObject *count_primes_gil(PyObject *self, PyObject *args)
{
    long long lo, end, hi, count = 0, step;
    if (parse_range(args, &lo, &end) < 0)
        return NULL;
    step = parlab_chunk_size(end);
    for (; lo < end; lo = hi) {
        hi = (end - lo > step) ? lo + step : end;
        count += parlab_count_range(lo, hi);   /* the GIL stays held: other threads wait */
        if (PyErr_CheckSignals() < 0)
            return NULL;
    }
    return PyLong_FromLongLong(count);
}

PyDoc_STRVAR(timed_call_doc, "timed_call(clock, func, *args)\n--\n\n"
             "Return (func(*args), clock() before, clock() after), called from C: no other thread\n"
             "can take the GIL between a timestamp and the call, so a timeline shows when the\n"
             "kernel really ran (lesson 03).");

static PyObject *timed_call(PyObject *self, PyObject *args)
{
    PyObject *rest, *t0, *result = NULL, *t1 = NULL, *out = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 2) {
        PyErr_SetString(PyExc_TypeError, "timed_call(clock, func, *args) needs a clock and a function");
        return NULL;
    }
    rest = PyTuple_GetSlice(args, 2, n);
    if (rest == NULL)
        return NULL;
    t0 = PyObject_CallNoArgs(PyTuple_GET_ITEM(args, 0));
    if (t0 != NULL)
        result = PyObject_Call(PyTuple_GET_ITEM(args, 1), rest, NULL);
    if (result != NULL)
        t1 = PyObject_CallNoArgs(PyTuple_GET_ITEM(args, 0));
    if (t1 != NULL)
        out = PyTuple_Pack(3, result, t0, t1);
    Py_DECREF(rest);
    Py_XDECREF(t0);
    Py_XDECREF(result);
    Py_XDECREF(t1);
    return out;
}

static PyMethodDef methods[] = {
    {"count_primes_nogil", count_primes_nogil, METH_VARARGS, nogil_doc},
    {"count_primes_gil", count_primes_gil, METH_VARARGS, gil_doc},
    {"timed_call", timed_call, METH_VARARGS, timed_call_doc},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030C0000
    /* No module state and no static Python objects: safe in every subinterpreter. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    /* Free-threaded builds (3.13t+): this module needs no GIL, so importing it must not
     * switch the GIL back on. Ignored by builds that have a GIL. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    "parlab.kernels._capi_primes",
    "Lesson 03: count primes in C through the C API, with and without the GIL.",
    0,
    methods,
    slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__capi_primes(void)
{
    return PyModuleDef_Init(&moduledef);
}
