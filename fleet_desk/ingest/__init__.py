"""The three sources of fixes side by side, on one road: the pipeline (`pipeline`), live units (`live`) and
docked units (`dock`). Each only says where the bytes come from and what "now" is."""
