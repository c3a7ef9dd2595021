"""Answering: the offline composer, the LLM chain, their prompts, citations and refusal."""
