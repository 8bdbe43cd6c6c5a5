"""Raw exports -> canonical tables: readers (xlsx, xls, csv in any encoding), column-mapping presets, the ingest with its rejects; then the findings are recomputed."""
