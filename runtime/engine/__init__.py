"""The CPU engine: llama.cpp (llama-cpp-python) behind SGLang's HTTP worker contract.

For the `local` target and for machines without a GPU. `python -m helixflow.runtime.engine`
serves a GGUF file; `python -m helixflow.runtime.engine.tiny_model` writes a tiny
random-weight model for offline tests (its output text is not meaningful).
Nothing is imported here: the package must stay cheap to import.
"""
