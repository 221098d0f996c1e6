//! The registry's concepts and rules: plain types and functions, no I/O, no database or HTTP
//! types. Values are parsed once at the edge into these types, so nothing deeper re-checks them.

pub mod access;
pub mod assets;
pub mod datum;
pub mod demo_sites;
pub mod eligibility;
pub mod geometry;
pub mod loans;
pub mod locator;
pub mod parties;
pub mod period;
pub mod places;
pub mod region;
pub mod revitalization;
pub mod rights;
pub mod shares;
pub mod spatial_key;
pub mod statistics;
pub mod targets;
pub mod text;

/// A closed list of codes, stored as text in the database and shown as a GraphQL enum.
///
/// The doc comments on the enum and its variants are the GraphiQL documentation, so they carry
/// the Chinese term. `as_str` gives the stored code and `parse` reads it back.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, async_graphql::Enum)]
        $vis enum $name {
            $( $(#[$vmeta])* #[graphql(name = $code)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code, as stored and as GraphQL spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// Reads a stored or submitted code.
            pub fn parse(code: &str) -> Result<Self, $crate::domain::UnknownCode> {
                match code {
                    $($code => Ok($name::$variant),)+
                    _ => Err($crate::domain::UnknownCode {
                        kind: stringify!($name),
                        code: code.to_owned(),
                        expected: &[$($code),+],
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use code_enum;

/// A code that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} is not a known {kind}; expected one of {}", expected.join(", "))]
pub struct UnknownCode {
    pub kind: &'static str,
    pub code: String,
    pub expected: &'static [&'static str],
}
