import AERec

// Put OpenBLAS on a core that fits this CPU before anything else runs: OpenBLAS reads
// OPENBLAS_CORETYPE only when it loads, so the fix is to re-execute with it set.
BLAS.relaunchOnFastCoreIfNeeded()
AERecCommand.runMapped()
