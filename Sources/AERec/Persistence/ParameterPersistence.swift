/// Saving and restoring the `Parameter` tensors of the gradient-trained models.
extension ModelState {
    /// Appends each parameter as a tensor named after it, shaped [rows, cols] (biases: [cols]).
    mutating func appendParameters(_ params: [Parameter]) throws {
        for p in params {
            try appendTensor(name: p.name, shape: p.rows == 1 ? [p.cols] : [p.rows, p.cols], data: p.value.array)
        }
    }

    /// Copies the tensors named like `params` into them, checking every shape.
    func loadParameters(_ params: [Parameter]) throws {
        for p in params {
            let data = try tensorData(named: p.name, shape: p.rows == 1 ? [p.cols] : [p.rows, p.cols])
            data.withUnsafeBufferPointer { if $0.count > 0 { p.value.p.update(from: $0.baseAddress!, count: $0.count) } }
        }
    }

    /// The item map stored with a model, or "0", "1", ... when the model was built without one.
    static func itemMap(_ ids: IDMap?, count: Int) -> IDMap {
        if let ids, ids.count == count { return ids }
        return try! IDMap(ids: (0..<count).map(String.init))
    }
}
