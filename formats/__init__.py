"""File formats at the edge: core's plain data in, files out (DOCX, XLSX, CSV, JSONL), drafts in.

Imports core only. ``docx_layout`` is the one administrative-document layout of every Word report;
``reports_docx`` renders the synthesis and mood reports with it; ``exports`` and ``consolidation_xlsx``
write spreadsheets; ``drafts`` reads Markdown / DOCX drafts into core's parsed-document model.
"""
