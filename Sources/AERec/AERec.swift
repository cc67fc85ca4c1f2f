import AERecKernels

/// AERec's version.
public enum AERecVersion {
    public static let string = "0.1.0"
}
