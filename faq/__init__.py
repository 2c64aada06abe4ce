"""FAQ answers: operator-edited entries (data/faq), hybrid retrieval (FAISS + BM25), calibrated
confidence. Entry points: `faq.retriever.get_retriever()` / `FaqRetriever.search()`, the CLI in
`faq.cli` (`daogou faq …`), and `faq.content.load_content()` for the entries themselves."""
