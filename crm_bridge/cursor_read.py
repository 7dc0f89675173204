"""Run prebuilt SELECTs on the DBAPI cursor, with SQLAlchemy's own SQL and type conversions.

Why not `Connection.execute`: the screen pop's reads are a few indexed rows each, and
SQLAlchemy's per-execute machinery (execution context, `construct_params`, result metadata)
cost ~70-75 us of CPU per statement against SQLite's own ~18 us; at 500 calls/s the lookup and
the 360 (seven statements) were a quarter of the server's busy core. Here each statement is
compiled once per dialect by SQLAlchemy, its result converters are the ones SQLAlchemy would use
(`dialect_impl(...).result_processor`, resolved from the first real cursor description, since
PostgreSQL's depend on the column's type oid), and each call only binds, executes and converts.

Kept from `Connection.execute`: DBAPI errors come out wrapped as SQLAlchemy's exceptions (the
reader catches `OperationalError` for a locked SQLite file), a lost connection is invalidated,
and `before_cursor_execute`/`after_cursor_execute` listeners still see each statement (without
an execution context: nothing in Switchboard needs one, and the index tests read the SQL).
Not kept: the engine's `echo` log of these statements. Not supported: statements whose
parameters SQLAlchemy expands at execution (IN lists, literal_execute) or that need bind
converters; `Query` refuses them when compiling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Select, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import CompoundSelect

Converter = Callable[[Any], Any]


@dataclass(slots=True)
class _Plan:
    """One statement compiled for one dialect."""

    sql: str
    # Positional dialects: parameter names in order; named dialects: None.
    names: tuple[str, ...] | None
    # Values the statement carries itself (LIMIT 20, OFFSET 0), overridden by the caller's.
    defaults: dict[str, Any]
    # (column index, converter) for the columns that need one; None until first executed.
    converters: tuple[tuple[int, Converter], ...] | None = None


class Query:
    """A SELECT built once with SQLAlchemy, compiled once per dialect, run on a DBAPI cursor."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Select[Any] | CompoundSelect[Any]) -> None:
        self.statement = statement
        self._plans: WeakKeyDictionary[Dialect, _Plan] = WeakKeyDictionary()

    def plan(self, dialect: Dialect) -> _Plan:
        """Return the statement compiled for `dialect` (compiled on first use)."""
        found = self._plans.get(dialect)
        if found is None:
            found = self._plans[dialect] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("cursor_read.Query: statement has parameters expanded at execution")
        defaults = {}
        for bind, name in compiled.bind_names.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise ValueError(f"cursor_read.Query: parameter {name} needs conversion")
            if bind.effective_value is not None:
                defaults[name] = bind.effective_value
        names = None
        if compiled.positional and compiled.positiontup is not None:
            names = tuple(compiled.positiontup)
        return _Plan(compiled.string, names, defaults)


class Reads:
    """One DBAPI cursor on a SQLAlchemy connection, for the few statements of one read."""

    __slots__ = ("_conn", "_cursor", "_dbapi", "_dialect", "_listened")

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self._dbapi = dbapi
        self._cursor: Any = None
        # SQLAlchemy's own test before it fires cursor events (Connection._execute_context):
        # private, but asking the public dispatch costs ~2.5 us, a tenth of a lookup.
        self._listened = conn._has_events or conn.engine._has_events

    def __enter__(self) -> Reads:
        return self

    def __exit__(self, *_: object) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None

    def rows(self, query: Query, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Return all rows of `query` bound with `params`, converted as SQLAlchemy would."""
        plan = query.plan(self._dialect)
        args: Any
        if plan.names is not None:
            defaults = plan.defaults
            args = tuple(params[n] if n in params else defaults[n] for n in plan.names)
        else:
            args = {**plan.defaults, **params}
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self._open_cursor()
        try:
            if self._listened:
                self._before(cursor, plan.sql, args)
            cursor.execute(plan.sql, args)
            if self._listened:
                self._after(cursor, plan.sql, args)
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
            if plan.converters is None:
                plan.converters = _converters(query, self._dialect, cursor.description)
        except self._dialect.loaded_dbapi.Error as error:
            raise self._wrapped(error, plan.sql, args) from error
        converters = plan.converters
        if not converters or not rows:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                values[index] = convert(values[index])
            converted.append(values)
        return converted

    def _open_cursor(self) -> Any:
        try:
            return self._dbapi.cursor()
        except self._dialect.loaded_dbapi.Error as error:
            raise self._wrapped(error, None, None) from error

    def _before(self, cursor: Any, sql: str, args: Any) -> None:
        for listener in self._conn.dispatch.before_cursor_execute:
            listener(self._conn, cursor, sql, args, None, False)

    def _after(self, cursor: Any, sql: str, args: Any) -> None:
        for listener in self._conn.dispatch.after_cursor_execute:
            listener(self._conn, cursor, sql, args, None, False)

    def _wrapped(self, error: Any, sql: str | None, args: Any) -> exc.DBAPIError:
        """Wrap a DBAPI error as SQLAlchemy does, invalidating a connection that was lost."""
        lost = self._dialect.is_disconnect(error, self._dbapi, self._cursor)
        if lost:
            self._cursor = None
            self._conn.invalidate(error)
        wrapped = exc.DBAPIError.instance(
            sql,
            args,
            error,
            self._dialect.loaded_dbapi.Error,
            # Parameters carry phone numbers and account numbers: never into a log.
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=self._dialect,
        )
        assert isinstance(wrapped, exc.DBAPIError)
        return wrapped


def _converters(
    query: Query, dialect: Dialect, description: Sequence[Sequence[Any]] | None
) -> tuple[tuple[int, Converter], ...]:
    """Return SQLAlchemy's result converters for the columns that have one."""
    columns = list(query.statement.selected_columns)
    if description is None or len(description) != len(columns):
        raise ValueError("cursor_read.Query: the cursor's columns are not the statement's")
    found = []
    for index, (column, described) in enumerate(zip(columns, description, strict=True)):
        convert = column.type.dialect_impl(dialect).result_processor(dialect, described[1])
        if convert is not None:
            found.append((index, convert))
    return tuple(found)
