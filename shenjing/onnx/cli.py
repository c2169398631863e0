"""``shenjing export MODEL --onnx out.onnx``: a model file as an ONNX file (opset 17, a dynamic batch axis).

    shenjing export runs/mnist_cnn/model.safetensors --onnx mnist_cnn.onnx
    shenjing export mlp.safetensors --onnx mlp.onnx --input-shape 784 --opset 17
    shenjing export lstm.safetensors --onnx lstm.onnx --input-shape 28,28    # outputs output, output_1, output_2
    shenjing export q8.safetensors --onnx q8.onnx --quant-format QDQ
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser("export", parents=[common], help="export a model file to ONNX")
    export.add_argument("model", help="a model file (model.safetensors)")
    export.add_argument("--onnx", required=True, metavar="OUT", help="the ONNX file to write")
    export.add_argument("--input-shape", help="one sample's shape, e.g. 784 or 1,28,28 (default: from the file)")
    export.add_argument("--opset", type=int, default=17, help="ONNX opset version (default 17)")
    export.add_argument("--input-name", default="input")
    export.add_argument("--output-name", default="output")
    export.add_argument("--static-batch", action="store_true", help="fix the batch size at 1 (default: dynamic)")
    export.add_argument("--input-dtype", choices=["float32", "float64", "int64"],
                        help="the input's dtype (default: int64 token ids for a model that starts with an Embedding, "
                             "else the parameters' float dtype)")
    export.add_argument("--quant-format", choices=["QOperator", "QDQ"], default="QOperator",
                        help="int8 layers as integer ops (QOperator, default) or Quantize/DequantizeLinear pairs (QDQ)")


def sample_shape(text: str | None, metadata: dict, model: Any) -> list[int]:
    """One sample's shape: from --input-shape, the file's metadata, or the first Linear layer."""
    from ..cli import UsageError

    if text:
        try:
            shape = [int(v) for v in text.replace("x", ",").split(",") if v.strip()]
        except ValueError:
            raise UsageError(f"--input-shape {text!r}: expected sizes separated by commas, e.g. 1,28,28") from None
        if not shape or any(s <= 0 for s in shape):
            raise UsageError(f"--input-shape {text!r}: sizes must be positive")
        return shape
    shape = metadata.get("input_shape")
    if shape:
        return [int(s) for s in shape]
    first = next((m for _, m in model.named_modules() if not any(True for _ in m.children())), None)
    if type(first).__name__ == "Linear":
        return [first.in_features]
    raise UsageError("the model file does not record its input shape: give --input-shape, e.g. 1,28,28")


def input_dtype(text: str | None, model: Any) -> Any:
    """--input-dtype, or int64 for a model whose first layer is an Embedding, or its first parameter's dtype."""
    import shenjing

    if text:
        return getattr(shenjing, text)
    first = next((m for _, m in model.named_modules() if not any(True for _ in m.children())), None)
    if type(first).__name__ in ("Embedding", "EmbeddingBag"):
        return shenjing.int64
    param = next(iter(model.parameters()), None)
    return param.dtype if param is not None and param.dtype.is_floating_point else shenjing.float32


def run(args: argparse.Namespace) -> int:
    from ..cli import UsageError, _require_file
    from ..creation import zeros
    from ..io import load
    from . import UnsupportedLayerError, export

    _require_file(args.model, "model file")
    model, document = load(args.model, with_metadata=True)
    shape = sample_shape(args.input_shape, document.get("metadata") or {}, model)
    dynamic = None if args.static_batch else {args.input_name: {0: "batch"}, args.output_name: {0: "batch"}}
    # NOTE: a model with several outputs (an LSTM's y, h_n, c_n) gets output, output_1, … unless one name is given
    output_names = None if args.output_name == "output" else [args.output_name]
    try:
        export(model, zeros(1, *shape, dtype=input_dtype(args.input_dtype, model)), args.onnx,
               input_names=[args.input_name], output_names=output_names, opset_version=args.opset,
               dynamic_axes=dynamic, quant_format=args.quant_format)
    except UnsupportedLayerError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:
        raise UsageError(str(error)) from None
    except RuntimeError as error:
        raise UsageError(f"the model does not run on input of shape {tuple([1, *shape])}: {error}") from None
    print(f"wrote {args.onnx} ({os.path.getsize(args.onnx):,} bytes, opset {args.opset}, input {args.input_name} "
          f"{['batch' if dynamic else 1, *shape]})")
    return 0
