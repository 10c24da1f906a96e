"""Korean and English term analysis shared by the parser, the indexer and news:
Kiwi morphemes for Hangul, words for Latin script."""
