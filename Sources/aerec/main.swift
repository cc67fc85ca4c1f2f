import AERec

#if canImport(Glibc)
import Glibc
#endif

// Put OpenBLAS on a core that fits this CPU before anything else runs: OpenBLAS reads
// OPENBLAS_CORETYPE only when it loads, so the fix is to re-execute with it set.
BLAS.relaunchOnFastCoreIfNeeded()
// A parent may hand down a blocked signal mask (threads of test runners do): Ctrl-C and kill
// must still reach aerec.
var interruptSignals = sigset_t()
sigemptyset(&interruptSignals)
sigaddset(&interruptSignals, SIGINT)
sigaddset(&interruptSignals, SIGTERM)
pthread_sigmask(SIG_UNBLOCK, &interruptSignals, nil)
AERecCommand.runMapped()
