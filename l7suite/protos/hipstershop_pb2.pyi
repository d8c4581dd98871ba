from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSupportedCurrenciesResponse(_message.Message):
    __slots__ = ("currency_codes",)
    CURRENCY_CODES_FIELD_NUMBER: _ClassVar[int]
    currency_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, currency_codes: _Optional[_Iterable[str]] = ...) -> None: ...
