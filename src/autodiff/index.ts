/**
 * Reverse-mode autodiff for ONNX graphs (issue 7): being written; nothing is exported yet.
 */
export {};
