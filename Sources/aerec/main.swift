import AERec
print("aerec \(AERecVersion.string)")
