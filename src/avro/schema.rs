//! Avro schemas, parsed from their JSON text into one flat table of types.
//!
//! The subset writers of orders may use: the eight primitive types; records with fields,
//! defaults and field aliases; enums, arrays, maps, unions and fixed, which our reader never
//! asks for but must know to skip a writer's field of that type; references to named types
//! defined before (a record may name itself: recursive types). `logicalType` and other
//! attributes are ignored: they change how a value is seen, not how it is encoded. Types refer
//! to each other by index into the table, so a recursive type is a cycle of indices rather than
//! of pointers.
//!
//! Defaults are checked against the first level of their type only (`"default": "x"` for an
//! int is refused, a record default missing a field is not): decoding writes a default as the
//! JSON it is, and `Order::parse` judges what it becomes.

use std::mem::discriminant;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::{Error, MAX_SCHEMA_BYTES, MAX_SCHEMA_DEPTH, MAX_TYPES};

/// A type's index in its schema's table.
pub(super) type TypeId = usize;

/// One type of a schema. Named types keep their full name (`namespace.name`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Type {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Record {
        name: String,
        fields: Vec<Field>,
    },
    Enum {
        name: String,
        symbols: Vec<String>,
        /// The index of the symbol a reader takes for one it does not know.
        default: Option<usize>,
    },
    Array(TypeId),
    Map(TypeId),
    Union(Vec<TypeId>),
    Fixed {
        name: String,
        size: u64,
    },
}

/// A record's field.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) aliases: Vec<String>,
    pub(super) schema: TypeId,
    /// The value a reader takes when the writer has no such field, as JSON.
    pub(super) default: Option<Value>,
}

impl Field {
    /// Whether this (reader's) field reads the writer's field called `name`.
    pub(super) fn reads(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }
}

/// A parsed Avro schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    types: Vec<Type>,
    root: TypeId,
}

/// The primitive types, at these indices of every schema's table.
const PRIMITIVES: [(&str, Type); 8] = [
    ("null", Type::Null),
    ("boolean", Type::Boolean),
    ("int", Type::Int),
    ("long", Type::Long),
    ("float", Type::Float),
    ("double", Type::Double),
    ("bytes", Type::Bytes),
    ("string", Type::String),
];

const ORDER_SCHEMA: &str = include_str!("../../schema/order.avsc");

impl Schema {
    /// Parses a schema's JSON text, as a registry serves it.
    pub fn parse(text: &str) -> Result<Schema, Error> {
        if text.len() > MAX_SCHEMA_BYTES {
            return Err(Error::SchemaTooLarge { bytes: text.len() });
        }
        // serde_json stops at 128 levels of JSON nesting, so this cannot overflow the stack.
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::SchemaNotJson(e.to_string()))?;
        let mut parser = Parser {
            types: PRIMITIVES.iter().map(|(_, t)| t.clone()).collect(),
            names: Vec::new(),
        };
        let root = parser.parse(&value, "", 0)?;
        let schema = Schema {
            types: parser.types,
            root,
        };
        schema.check_defaults()?;
        Ok(schema)
    }

    /// Our schema, `schema/order.avsc`: the reader's side of every order we decode.
    pub fn order() -> &'static Schema {
        static ORDER: OnceLock<Schema> = OnceLock::new();
        ORDER.get_or_init(|| {
            Schema::parse(ORDER_SCHEMA).expect("schema/order.avsc parses (a unit test checks it)")
        })
    }

    pub(super) fn root(&self) -> TypeId {
        self.root
    }

    /// The type at `id`. Indices come only from this schema's parser, so they are in the table.
    pub(super) fn get(&self, id: TypeId) -> &Type {
        &self.types[id]
    }

    fn check_defaults(&self) -> Result<(), Error> {
        for t in &self.types {
            let Type::Record { name, fields } = t else {
                continue;
            };
            for field in fields {
                if let Some(default) = &field.default {
                    if !self.fits(field.schema, default) {
                        let union = matches!(self.get(field.schema), Type::Union(_));
                        return Err(Error::BadSchema(format!(
                            "the default {default} of field `{}` of record `{name}` does not fit \
                             its type, {}{}",
                            field.name,
                            self.describe(field.schema),
                            if union {
                                " (a union's default is of its first branch)"
                            } else {
                                ""
                            }
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether `value` is, at its first level, a default of type `id`. A union's default is one
    /// of its first branch.
    fn fits(&self, id: TypeId, value: &Value) -> bool {
        match (self.get(id), value) {
            // A union never holds a union, so this recursion is one level deep.
            (Type::Union(branches), _) => branches
                .first()
                .is_some_and(|&first| self.fits(first, value)),
            (Type::Null, Value::Null) | (Type::Boolean, Value::Bool(_)) => true,
            (Type::Int, Value::Number(n)) => n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
            (Type::Long, Value::Number(n)) => n.as_i64().is_some(),
            (Type::Float | Type::Double, Value::Number(_)) => true,
            (Type::Bytes | Type::String | Type::Fixed { .. }, Value::String(_)) => true,
            (Type::Enum { symbols, .. }, Value::String(s)) => symbols.contains(s),
            (Type::Array(_), Value::Array(_)) => true,
            (Type::Map(_) | Type::Record { .. }, Value::Object(_)) => true,
            _ => false,
        }
    }

    /// The type in a few words, for messages.
    pub(super) fn describe(&self, id: TypeId) -> String {
        match self.get(id) {
            Type::Record { name, .. } => format!("record `{name}`"),
            Type::Enum { name, .. } => format!("enum `{name}`"),
            Type::Fixed { name, size } => format!("fixed `{name}` of {size} bytes"),
            Type::Array(_) => "array".into(),
            Type::Map(_) => "map".into(),
            Type::Union(_) => "union".into(),
            primitive => PRIMITIVES
                .iter()
                .find(|(_, t)| t == primitive)
                .map_or("type", |(name, _)| name)
                .into(),
        }
    }
}

/// A full name without its namespace: records, enums and fixed resolve by it, as the
/// specification says ("the same (unqualified) name").
pub(super) fn unqualified(full: &str) -> &str {
    full.rsplit('.').next().unwrap_or(full)
}

struct Parser {
    types: Vec<Type>,
    /// Named types defined so far, by full name.
    names: Vec<(String, TypeId)>,
}

impl Parser {
    fn parse(&mut self, value: &Value, namespace: &str, depth: usize) -> Result<TypeId, Error> {
        if depth > MAX_SCHEMA_DEPTH {
            return Err(Error::SchemaTooDeep);
        }
        match value {
            Value::String(name) => self.reference(name, namespace),
            Value::Array(branches) => self.union(branches, namespace, depth),
            Value::Object(object) => self.object(object, namespace, depth),
            other => Err(Error::BadSchema(format!(
                "a schema is a type name, an object or an array (a union), not {other}"
            ))),
        }
    }

    fn push(&mut self, t: Type) -> Result<TypeId, Error> {
        if self.types.len() >= MAX_TYPES {
            return Err(Error::SchemaTooManyTypes);
        }
        self.types.push(t);
        Ok(self.types.len() - 1)
    }

    /// A primitive type, or a named type defined before: a name with a dot is a full name, one
    /// without is looked up in the enclosing namespace, then in the null namespace.
    fn reference(&self, name: &str, namespace: &str) -> Result<TypeId, Error> {
        if let Some(id) = PRIMITIVES.iter().position(|(n, _)| *n == name) {
            return Ok(id);
        }
        let find = |full: &str| {
            self.names
                .iter()
                .find(|(n, _)| n == full)
                .map(|&(_, id)| id)
        };
        let in_namespace = (!name.contains('.') && !namespace.is_empty())
            .then(|| find(&format!("{namespace}.{name}")))
            .flatten();
        in_namespace
            .or_else(|| find(name))
            .ok_or_else(|| Error::UnknownType(name.to_string()))
    }

    fn object(
        &mut self,
        object: &Map<String, Value>,
        namespace: &str,
        depth: usize,
    ) -> Result<TypeId, Error> {
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            // `{"type": {...}}` or `{"type": [...]}`: a schema wrapped in another object.
            Some(inner @ (Value::Object(_) | Value::Array(_))) => {
                return self.parse(inner, namespace, depth + 1)
            }
            _ => {
                return Err(Error::BadSchema(
                    "a schema object needs a \"type\" string".into(),
                ))
            }
        };
        match kind {
            "record" | "error" => self.record(object, namespace, depth),
            "enum" => self.enumeration(object, namespace),
            "fixed" => {
                let (name, _) = self.full_name(object, namespace, "fixed")?;
                let size = object.get("size").and_then(Value::as_u64).ok_or_else(|| {
                    Error::BadSchema(format!("fixed `{name}` needs a \"size\" of 0 or more"))
                })?;
                self.define(name, |name| Type::Fixed { name, size })
            }
            "array" | "map" => {
                let attribute = if kind == "array" { "items" } else { "values" };
                let inner = object
                    .get(attribute)
                    .ok_or_else(|| Error::BadSchema(format!("an {kind} needs \"{attribute}\"")))?;
                let inner = self.parse(inner, namespace, depth + 1)?;
                self.push(if kind == "array" {
                    Type::Array(inner)
                } else {
                    Type::Map(inner)
                })
            }
            // A primitive with attributes (`{"type": "string", "logicalType": "uuid"}`), or a
            // named type by reference.
            other => self.reference(other, namespace),
        }
    }

    /// The full name a named type's `name` and `namespace` give, and the namespace it sets for
    /// the types inside it.
    fn full_name(
        &self,
        object: &Map<String, Value>,
        enclosing: &str,
        kind: &str,
    ) -> Result<(String, String), Error> {
        let name = object
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::BadSchema(format!("a {kind} needs a \"name\" string")))?;
        let (namespace, short) = match name.rsplit_once('.') {
            Some((namespace, short)) => (namespace, short),
            None => match object.get("namespace") {
                None | Some(Value::Null) => (enclosing, name),
                Some(Value::String(namespace)) => (namespace.as_str(), name),
                Some(other) => {
                    return Err(Error::BadSchema(format!(
                        "the namespace of {kind} `{name}` is {other}, not a string"
                    )))
                }
            },
        };
        let valid = is_name(short)
            && (namespace.is_empty() || namespace.split('.').all(is_name))
            && !PRIMITIVES.iter().any(|(p, _)| *p == short);
        if !valid {
            let within = if namespace.is_empty() || name.contains('.') {
                String::new()
            } else {
                format!(" in namespace `{namespace}`")
            };
            return Err(Error::BadSchema(format!(
                "`{name}`{within} is not a valid name for a {kind}"
            )));
        }
        let full = if namespace.is_empty() {
            short.to_string()
        } else {
            format!("{namespace}.{short}")
        };
        if self.names.iter().any(|(n, _)| *n == full) {
            return Err(Error::BadSchema(format!("`{full}` is defined twice")));
        }
        Ok((full, namespace.to_string()))
    }

    /// Adds the named type `make(full)` to the table and to the names.
    fn define(&mut self, full: String, make: impl FnOnce(String) -> Type) -> Result<TypeId, Error> {
        let id = self.push(make(full.clone()))?;
        self.names.push((full, id));
        Ok(id)
    }

    fn record(
        &mut self,
        object: &Map<String, Value>,
        enclosing: &str,
        depth: usize,
    ) -> Result<TypeId, Error> {
        let (full, namespace) = self.full_name(object, enclosing, "record")?;
        let Some(Value::Array(list)) = object.get("fields") else {
            return Err(Error::BadSchema(format!(
                "record `{full}` needs a \"fields\" array"
            )));
        };
        // Defined before its fields, so that they may name it.
        let id = self.define(full.clone(), |name| Type::Record {
            name,
            fields: Vec::new(),
        })?;
        let mut fields: Vec<Field> = Vec::new();
        for field in list {
            let bad = |why: &str| Error::BadSchema(format!("a field of record `{full}` {why}"));
            let field = field.as_object().ok_or_else(|| bad("is not an object"))?;
            let name = match field.get("name").and_then(Value::as_str) {
                Some(name) if is_name(name) => name,
                Some(name) => return Err(bad(&format!("has the invalid name `{name}`"))),
                None => return Err(bad("has no \"name\" string")),
            };
            if fields.iter().any(|f| f.name == name) {
                return Err(bad(&format!("is named `{name}` twice")));
            }
            let bad =
                |why: &str| Error::BadSchema(format!("field `{name}` of record `{full}` {why}"));
            let schema = field.get("type").ok_or_else(|| bad("has no \"type\""))?;
            let schema = self.parse(schema, &namespace, depth + 1)?;
            let aliases = match field.get("aliases") {
                None => Vec::new(),
                Some(Value::Array(aliases)) => aliases
                    .iter()
                    .map(|a| a.as_str().filter(|a| is_name(a)).map(str::to_string))
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| bad("has an alias that is not a name"))?,
                Some(_) => return Err(bad("has \"aliases\" that are not an array")),
            };
            fields.push(Field {
                name: name.to_string(),
                aliases,
                schema,
                default: field.get("default").cloned(),
            });
        }
        if let Some(Type::Record { fields: slot, .. }) = self.types.get_mut(id) {
            *slot = fields;
        }
        Ok(id)
    }

    fn enumeration(
        &mut self,
        object: &Map<String, Value>,
        enclosing: &str,
    ) -> Result<TypeId, Error> {
        let (full, _) = self.full_name(object, enclosing, "enum")?;
        let bad = |why: &str| Error::BadSchema(format!("enum `{full}` {why}"));
        let Some(Value::Array(list)) = object.get("symbols") else {
            return Err(bad("needs a \"symbols\" array"));
        };
        let mut symbols: Vec<String> = Vec::new();
        for symbol in list {
            match symbol.as_str() {
                Some(s) if !is_name(s) => {
                    return Err(bad(&format!("has the invalid symbol `{s}`")))
                }
                Some(s) if symbols.iter().any(|x| x == s) => {
                    return Err(bad(&format!("has the symbol `{s}` twice")))
                }
                Some(s) => symbols.push(s.to_string()),
                None => return Err(bad(&format!("has the symbol {symbol}, not a string"))),
            }
        }
        let default = match object.get("default") {
            None => None,
            Some(d) => Some(
                symbols
                    .iter()
                    .position(|s| d.as_str() == Some(s))
                    .ok_or_else(|| bad(&format!("has the default {d}, not one of its symbols")))?,
            ),
        };
        self.define(full, |name| Type::Enum {
            name,
            symbols,
            default,
        })
    }

    fn union(&mut self, list: &[Value], namespace: &str, depth: usize) -> Result<TypeId, Error> {
        let mut branches: Vec<TypeId> = Vec::new();
        for branch in list {
            let id = self.parse(branch, namespace, depth + 1)?;
            let t = &self.types[id];
            if matches!(t, Type::Union(_)) {
                return Err(Error::BadSchema("a union holds a union".into()));
            }
            // Unnamed types at most once each; a named type at most once (by name, hence id).
            let named = matches!(
                t,
                Type::Record { .. } | Type::Enum { .. } | Type::Fixed { .. }
            );
            let twice = branches.iter().any(|&b| {
                if named {
                    b == id
                } else {
                    discriminant(&self.types[b]) == discriminant(t)
                }
            });
            if twice {
                return Err(Error::BadSchema(format!(
                    "a union holds the same type twice (branch {})",
                    branches.len()
                )));
            }
            branches.push(id);
        }
        self.push(Type::Union(branches))
    }
}

/// An Avro name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
