"""The ask domain's adapters with I/O: the LLM providers' HTTP APIs."""
