"""Publishing: provenance records, HTML pages, PDF handouts, the booklet, the index and its rule graph."""
