import AERec
