"""ctypes declarations of the clgrad C API (include/clgrad/*.h).

Every struct mirrors its header field for field; option structs are always obtained from
the C defaults functions so that struct_size is the library's. The library is loaded with
ctypes.CDLL, which releases the GIL during every foreign call.
"""
import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_long, c_size_t, c_uint, c_uint32, c_uint64, c_void_p, c_int32)

# ------------------------------------------------------------------ loading


def _load():
    tried = []
    env = os.environ.get("CLGRAD_LIBRARY")
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise ImportError("clgrad: cannot load $CLGRAD_LIBRARY=%r: %s" % (env, e)) from None
    here = os.path.dirname(os.path.abspath(__file__))
    for cand in sorted(glob.glob(os.path.join(here, "libclgrad.so*")), reverse=True):
        try:
            return ctypes.CDLL(cand), cand
        except OSError as e:
            tried.append("%s (%s)" % (cand, e))
    if not tried:
        tried.append("no libclgrad.so* in %s" % here)
    try:  # written by cmake --install: where, from here, it put the library
        from . import _install
        cand = os.path.normpath(os.path.join(here, _install.LIBRARY))
        try:
            return ctypes.CDLL(cand), cand
        except OSError as e:
            tried.append("%s (%s)" % (cand, e))
    except ImportError:
        tried.append("no _install.py (not installed by cmake --install)")
    name = ctypes.util.find_library("clgrad")
    if name:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append("find_library: %s (%s)" % (name, e))
    else:
        tried.append('ctypes.util.find_library("clgrad") found nothing')
    raise ImportError("clgrad: cannot find the C library libclgrad.so; tried: $CLGRAD_LIBRARY "
                      "(not set), " + "; ".join(tried) +
                      ". Set CLGRAD_LIBRARY to the path of libclgrad.so.")


lib, path = _load()

# ------------------------------------------------------------------ types

status = c_int
p = c_void_p  # every opaque handle
size_p = POINTER(c_size_t)
float_p = POINTER(c_float)
sig_atomic_t = c_int  # glibc: int

EPOCH_CB = CFUNCTYPE(None, c_size_t, c_double, c_void_p)
VALIDATION_CB = CFUNCTYPE(None, c_size_t, c_double, c_double, c_void_p)
PROGRESS_CB = CFUNCTYPE(None, c_size_t, c_size_t, c_size_t, c_void_p)
BUILD_CB = CFUNCTYPE(None, c_char_p, c_char_p, c_void_p)


class ContextStats(Structure):
    _fields_ = [("programs_built", c_uint), ("programs_from_cache", c_uint),
                ("cache_rejected", c_uint), ("cache_write_failures", c_uint),
                ("kernels_enqueued", c_uint), ("blas_tuned_from_cache", c_uint),
                ("blas_tune_rejected", c_uint)]


class StreamOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("chunk_rows", c_size_t),
                ("buffer_chunks", c_size_t), ("part", c_size_t), ("parts", c_size_t),
                ("classes", c_size_t)]


class DeviceInfo(Structure):
    _fields_ = [("platform_index", c_uint), ("device_index", c_uint), ("type", c_int),
                ("platform_name", c_char * 128), ("device_name", c_char * 128),
                ("vendor", c_char * 128), ("driver_version", c_char * 64),
                ("opencl_version", c_char * 128), ("compute_units", c_uint),
                ("global_mem_size", c_uint64), ("max_alloc_size", c_uint64),
                ("local_mem_size", c_uint64), ("max_work_group_size", c_size_t)]


class ContextOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("device", c_char_p), ("fused", c_int),
                ("product", c_int), ("cache", c_int), ("cache_dir", c_char_p),
                ("cache_mode", c_int), ("stream", c_int), ("tune", c_int),
                ("build_warnings", c_int), ("on_build", BUILD_CB), ("on_build_user", c_void_p)]


class LinearInit(Structure):
    _fields_ = [("struct_size", c_size_t), ("weight_std", c_float), ("seed", c_uint64),
                ("weight", float_p), ("bias", float_p), ("kind", c_int)]


class OptimizerOptions(Structure):
    _fields_ = [("kind", c_int), ("lr", c_float), ("momentum", c_float), ("dampening", c_float),
                ("weight_decay", c_float), ("nesterov", c_int), ("beta1", c_float),
                ("beta2", c_float), ("eps", c_float), ("alpha", c_float), ("amsgrad", c_int),
                ("centered", c_int), ("reserved", c_uint32 * 4)]


class LoaderOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("batch_size", c_size_t), ("shuffle", c_int),
                ("drop_last", c_int), ("seed", c_uint64), ("first_epoch", c_uint64)]


class Batch(Structure):
    _fields_ = [("X", c_void_p), ("Y", c_void_p), ("rows", c_size_t), ("index", c_size_t)]


class ClassNames(Structure):
    _fields_ = [("count", c_size_t), ("names", POINTER(c_char_p))]


class CsvOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("header", c_int), ("label_column", c_long),
                ("delimiter", c_char), ("skip_columns", c_char_p), ("classes", c_size_t),
                ("max_classes", c_size_t), ("class_names", POINTER(ClassNames))]


class LayerInfo(Structure):
    _fields_ = [("type", c_char * 32), ("in_", c_size_t), ("out", c_size_t),
                ("params", c_size_t), ("repr", c_char * 128)]


class ParamInfo(Structure):
    _fields_ = [("layer", c_size_t), ("is_bias", c_int), ("rows", c_size_t),
                ("cols", c_size_t), ("name", c_char * 32)]


class Schedule(Structure):
    _fields_ = [("kind", c_int), ("step_size", c_size_t), ("gamma", c_double),
                ("t_max", c_size_t), ("eta_min", c_double), ("warmup", c_size_t),
                ("warmup_start", c_double)]


class ValidationResult(Structure):
    _fields_ = [("best_epoch", c_size_t), ("best_loss", c_double),
                ("best_accuracy", c_double), ("stopped_early", c_int)]


class FitOptions(Structure):
    _fields_ = [("struct_size", c_size_t), ("epochs", c_size_t), ("batch_size", c_size_t),
                ("shuffle", c_int), ("drop_last", c_int), ("seed", c_uint64), ("loss", c_int),
                ("reduction", c_int), ("optimizer", OptimizerOptions), ("on_epoch", EPOCH_CB),
                ("user", c_void_p), ("on_progress", PROGRESS_CB), ("progress_every", c_size_t),
                ("epoch_loss", c_int), ("diverge_factor", c_double),
                ("cancel", POINTER(sig_atomic_t)), ("schedule", Schedule),
                ("first_epoch", c_uint64), ("validation", c_void_p),
                ("validation_fraction", c_double), ("on_validation", VALIDATION_CB),
                ("early_stop", c_size_t), ("validation_result", POINTER(ValidationResult)),
                ("comm", c_void_p),  # a clg_comm: clgrad.Comm (dist.py)
                ("on_epoch_records_only", c_int), ("average_every", c_size_t)]


class EpochLog(Structure):
    # C's loss (double *) as an address, named apart from clg_fit_options.loss: the fit
    # block (_block.py) reads both structs' fields as its own
    _fields_ = [("loss_values", c_void_p), ("capacity", c_size_t), ("count", c_size_t),
                ("dropped", c_size_t), ("last", c_size_t)]


class FitReport(Structure):
    _fields_ = [("epochs_run", c_size_t), ("steps", c_size_t), ("final_loss", c_double)]


class EvalResult(Structure):
    _fields_ = [("loss", c_double), ("accuracy", c_double), ("n", c_size_t)]


class CheckpointInfo(Structure):
    _fields_ = [("version", c_uint), ("has_optimizer", c_int), ("optimizer", c_int),
                ("optimizer_groups", c_size_t), ("optimizer_steps", c_uint64)]


# ------------------------------------------------------------------ functions

def _f(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


# core
_f("clg_status_string", c_char_p, c_int)
_f("clg_last_error", c_char_p, p)
_f("clg_build_log", c_char_p, p)
_f("clg_version", c_char_p)
_f("clg_device_type_string", c_char_p, c_int)
_f("clg_device_list", status, POINTER(DeviceInfo), c_size_t, size_p)
_f("clg_device_select", status, c_char_p, size_p)
_f("clg_context_options_defaults", ContextOptions)
_f("clg_context_create_with", status, POINTER(p), POINTER(ContextOptions))
_f("clg_context_destroy", None, p)
_f("clg_context_device", status, p, POINTER(DeviceInfo))
_f("clg_context_finish", status, p)
_f("clg_context_cache_dir", c_char_p, p)
_f("clg_context_get_stats", status, p, POINTER(ContextStats))
_f("clg_tensor_create", status, p, c_size_t, c_size_t, POINTER(p))
_f("clg_tensor_destroy", None, p)
_f("clg_tensor_resize", status, p, c_size_t, c_size_t)
# data
_f("clg_dataset_from_host", status, p, float_p, float_p, c_size_t, c_size_t, c_size_t, POINTER(p))
_f("clg_dataset_from_host_labels", status, p, float_p, POINTER(c_int32), c_size_t, c_size_t,
   c_size_t, POINTER(p))
_f("clg_dataset_synthetic_linear", status, p, c_size_t, float_p, c_size_t, c_float, c_float,
   c_uint64, POINTER(p))
_f("clg_dataset_feature_stats", status, p, float_p, float_p)
_f("clg_dataset_standardize", status, p, float_p, float_p)
_f("clg_dataset_destroy", None, p)
_f("clg_dataset_size", c_size_t, p)
_f("clg_dataset_features", c_size_t, p)
_f("clg_dataset_targets", c_size_t, p)
_f("clg_dataset_classes", c_size_t, p)
_f("clg_dataset_split", status, p, c_double, c_uint64, POINTER(p), POINTER(p))
_f("clg_dataset_split_stratified", status, p, c_double, c_uint64, POINTER(p), POINTER(p))
_f("clg_dataset_download", status, p, float_p, float_p)
_f("clg_dataset_streamed", c_int, p)
_f("clg_loader_defaults", LoaderOptions)
_f("clg_loader_create", status, p, POINTER(LoaderOptions), POINTER(p))
_f("clg_loader_destroy", None, p)
_f("clg_loader_start_epoch", status, p)
_f("clg_loader_next", status, p, POINTER(Batch), POINTER(c_int))
_f("clg_class_names_free", None, POINTER(ClassNames))
_f("clg_csv_defaults", CsvOptions)
_f("clg_dataset_from_csv", status, p, c_char_p, POINTER(CsvOptions), POINTER(p))
_f("clg_dataset_from_csv_classes", status, p, c_char_p, POINTER(CsvOptions), POINTER(p),
   POINTER(ClassNames))
_f("clg_dataset_from_npy", status, p, c_char_p, c_char_p, c_int, POINTER(p))
_f("clg_stream_defaults", StreamOptions)
_f("clg_dataset_stream_npy", status, p, c_char_p, c_char_p, c_int, POINTER(StreamOptions),
   POINTER(p))
_f("clg_dataset_stream_csv", status, p, c_char_p, POINTER(CsvOptions), c_int,
   POINTER(StreamOptions), POINTER(p), POINTER(ClassNames))
_f("clg_dataset_storage", c_int, p)
_f("clg_dataset_chunk_rows", c_size_t, p)
# nn
_f("clg_linear_init_defaults", LinearInit)
_f("clg_model_create", status, p, POINTER(p))
_f("clg_model_destroy", None, p)
_f("clg_model_add_linear", status, p, c_size_t, c_size_t, POINTER(LinearInit))
_f("clg_model_add_relu", status, p)
_f("clg_model_add_phm", status, p, c_size_t, c_size_t, c_size_t, POINTER(LinearInit))
_f("clg_model_inputs", c_size_t, p)
_f("clg_model_outputs", c_size_t, p)
_f("clg_model_layer_count", c_size_t, p)
_f("clg_model_layer_info", status, p, c_size_t, POINTER(LayerInfo))
_f("clg_model_describe", c_size_t, p, c_char_p, c_size_t)
_f("clg_model_param_count", c_size_t, p)
_f("clg_model_param_info", status, p, c_size_t, POINTER(ParamInfo))
_f("clg_model_get_param", status, p, c_size_t, float_p, c_size_t)
_f("clg_model_set_param", status, p, c_size_t, float_p, c_size_t)
_f("clg_model_get_grad", status, p, c_size_t, float_p, c_size_t)
_f("clg_model_forward", status, p, p, POINTER(p))
_f("clg_model_backward", status, p, p)
_f("clg_loss_describe", c_char_p, c_int)
_f("clg_loss_backward", status, p, c_int, c_int, p, p, p)
# optim
_f("clg_optimizer_defaults", OptimizerOptions, c_int)
_f("clg_optimizer_kind_name", c_char_p, c_int)
_f("clg_optimizer_create", status, p, POINTER(OptimizerOptions), POINTER(p))
_f("clg_optimizer_destroy", None, p)
_f("clg_optimizer_add_group", status, p, size_p, c_size_t, POINTER(OptimizerOptions))
_f("clg_optimizer_add_group_by_kind", status, p, c_int, POINTER(OptimizerOptions))
_f("clg_optimizer_step", status, p, c_float)
_f("clg_optimizer_get_kind", c_int, p)
_f("clg_optimizer_group_count", c_size_t, p)
_f("clg_optimizer_group", status, p, c_size_t, POINTER(OptimizerOptions))
_f("clg_optimizer_get_lr", status, p, c_size_t, float_p)
_f("clg_optimizer_set_lr", status, p, c_size_t, c_float)
_f("clg_optimizer_steps", c_uint64, p)
_f("clg_optimizer_describe", c_size_t, p, c_char_p, c_size_t)
# train
_f("clg_schedule_defaults", Schedule)
_f("clg_schedule_lr", c_double, POINTER(Schedule), c_double, c_size_t, c_size_t)
_f("clg_fit_defaults", FitOptions)
_f("clg_record_epoch", None, c_size_t, c_double, c_void_p)
# options and report as addresses: clgrad.fit passes them inside one block (_block.py)
_f("clg_fit", status, p, p, p, p, p)
_f("clg_evaluate", status, p, p, c_int, POINTER(EvalResult))
_f("clg_evaluate_loss", status, p, p, c_int, POINTER(c_double))
_f("clg_predict", status, p, float_p, c_size_t, float_p)
_f("clg_model_save", status, p, p, c_char_p, c_char_p)
_f("clg_model_load", status, p, c_char_p, POINTER(p), c_char_p, c_size_t)
_f("clg_model_load_into", status, p, p, c_char_p)
_f("clg_checkpoint_inspect", status, c_char_p, POINTER(CheckpointInfo))
# extras
_f("clg_solve_normal", status, p, p, c_double, float_p, float_p)


# ------------------------------------------------------------------ ABI checks at import

def _check_abi():
    for name, fn in (("clg_context_options", lib.clg_context_options_defaults),
                     ("clg_linear_init", lib.clg_linear_init_defaults),
                     ("clg_loader_options", lib.clg_loader_defaults),
                     ("clg_csv_options", lib.clg_csv_defaults),
                     ("clg_fit_options", lib.clg_fit_defaults),
                     ("clg_stream_options", lib.clg_stream_defaults)):
        s = fn()
        if s.struct_size != ctypes.sizeof(type(s)):
            raise ImportError("clgrad: %s is %d bytes in %s but %d in these bindings: the "
                              "library and the Python package do not match"
                              % (name, s.struct_size, path, ctypes.sizeof(type(s))))
    if ctypes.sizeof(OptimizerOptions) != 64:
        raise ImportError("clgrad: clg_optimizer_options mirror is not 64 bytes")


_check_abi()
