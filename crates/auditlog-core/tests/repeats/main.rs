//! A key repeated in one object is refused wherever it stands, however it
//! is spelled: JSON readers disagree on which value counts. The model
//! refuses its own fields' repeats by one bit each and the parser the rest;
//! these hold them to one rule, field by field and on random events.

mod fields;
mod known_fields;
mod random;
