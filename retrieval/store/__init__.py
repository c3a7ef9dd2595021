"""Storage: the article index, its catalog, Chroma, the BM25 index, embedders, entities."""
