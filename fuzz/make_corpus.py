#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ from the test fixtures (stdlib only).

Seeds are small: a safetensors seed keeps the real header names and dtypes of the tiny
checkpoints with shapes shrunk to a few elements, so each file stays under a kilobyte.
"""
import hashlib
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT / "fuzz" / "corpus"
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8}


def write(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def safetensors_header(path):
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length])


def small_safetensors(header, limit):
    """The first `limit` tensors of `header`, shrunk to shape [2] or [2, 2]."""
    out, offset = {}, 0
    for name, entry in list(header.items())[:limit]:
        if name == "__metadata__":
            out[name] = entry
            continue
        shape = [2] * min(len(entry["shape"]), 2)
        nbytes = SIZES[entry["dtype"]] * (4 if len(shape) == 2 else 2 if shape else 1)
        out[name] = {"dtype": entry["dtype"], "shape": shape,
                     "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(out, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + bytes(range(offset % 256)) + bytes(offset - offset % 256)


def main():
    models = FIXTURES / "models"
    for model in ("qwen3-tiny", "qwen2-tiny"):
        write("model_config_fuzz", (models / model / "config.json").read_text())
    write("model_config_fuzz", json.dumps({"architectures": ["Qwen3ForCausalLM"]}))

    for path in sorted(models.glob("*/*.safetensors")):
        header = safetensors_header(path)
        for limit in (1, 3, 8):
            write("safetensors_fuzz", small_safetensors(header, limit))
    write("safetensors_fuzz", struct.pack("<Q", 2) + b"{}")

    write("tokenizer_json_fuzz", (models / "qwen3-tiny" / "tokenizer.json").read_text())
    write("tokenizer_json_fuzz", (FIXTURES / "tokenizer" / "flags_tokenizer.json").read_text())

    config = json.loads((models / "qwen3-tiny" / "tokenizer_config.json").read_text())
    write("chat_template_load_fuzz", json.dumps(config))
    write("chat_template_load_fuzz", json.dumps({"chat_template": (
        "{%- if messages[0]['role'] == 'system' %}{%- else %}{{- '<|im_start|>system\\nYou are "
        "Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif "
        "%}{%- if (message.role == \"assistant\" and not message.tool_calls) %}")}))
    write("chat_template_load_fuzz", config["chat_template"])

    texts = set()
    for name in ("corpus.jsonl", "edge_cases.jsonl"):
        for line in (FIXTURES / "tokenizer" / name).read_text().splitlines():
            value = json.loads(line)
            texts.add(value["text"] if isinstance(value, dict) else value)
    for text in sorted(texts, key=lambda t: hashlib.sha1(t.encode("utf-8", "surrogatepass")).digest())[:120]:
        write("tokenizer_codec_fuzz", text.encode("utf-8", "surrogatepass"))

    for line in (FIXTURES / "chat" / "qwen3_chat.jsonl").read_text().splitlines():
        write("chat_template_fuzz", json.dumps(json.loads(line)["messages"], ensure_ascii=False))

    http_bodies = [
        (0, {"model": "cascade-tiny-qwen3", "prompt": "Where is Crystalton?", "max_tokens": 16}),
        (0, {"model": "cascade-tiny-qwen3", "prompt": [[1, 2, 3]], "temperature": 0.7,
             "top_p": 0.9, "seed": 3, "stop": ["\n", "."], "stream": True,
             "stream_options": {"include_usage": True}}),
        (0, {"model": "cascade-tiny-qwen3", "prompt": "Question: Who?", "documents":
             ["Crystalton is located in Nebulonia.", {"id": "0" * 64}], "n": 1}),
        (1, {"model": "cascade-tiny-qwen3", "messages": [
            {"role": "system", "content": "You answer questions using only the documents."},
            {"role": "user", "content": "Where is Crystalton?"}], "max_tokens": 32,
             "documents": ["Crystalton is located in Nebulonia."],
             "chat_template_kwargs": {"enable_thinking": False}}),
        (1, {"model": "cascade-tiny-qwen3", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "More"}],
             "max_completion_tokens": 8, "top_k": 20, "frequency_penalty": 0}),
    ]
    for route, body in http_bodies:
        write("http_request_fuzz", bytes([route]) + json.dumps(body).encode())


if __name__ == "__main__":
    main()
