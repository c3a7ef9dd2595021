"""Search: reading the question, the hybrid retriever, and scoring passages and sentences."""
