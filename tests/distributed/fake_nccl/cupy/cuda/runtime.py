def getDeviceCount() -> int:  # noqa: N802 - CuPy's name
    return 1
