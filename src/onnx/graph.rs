//! Building an ONNX graph: nodes in order, each writing one new value, and named constant
//! tensors (initializers). Value names are made unique here, so emitters name what a value
//! is (`conv2d`, `conv2d.nchw`) and never worry about clashes.

use std::collections::{BTreeMap, BTreeSet};

use super::proto::{AttributeProto, AttributeType, NodeProto, TensorProto, FLOAT, INT64};

/// A node attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// A float (`alpha`, `epsilon`).
    Float(f32),
    /// An integer (`axis`).
    Int(i64),
    /// A list of integers (`kernel_shape`, `pads`, `perm`).
    Ints(Vec<i64>),
}

impl Attr {
    /// A list of sizes as ONNX's int64 list (`usize` always fits `i64` on the sizes a model
    /// shape check accepts).
    pub fn sizes(values: &[usize]) -> Self {
        Self::Ints(values.iter().map(|&v| v as i64).collect())
    }

    fn proto(&self, name: &str) -> AttributeProto {
        let mut attribute = AttributeProto {
            name: name.to_string(),
            ..AttributeProto::default()
        };
        match self {
            Self::Float(f) => {
                attribute.r#type = AttributeType::Float as i32;
                attribute.f = *f;
            }
            Self::Int(i) => {
                attribute.r#type = AttributeType::Int as i32;
                attribute.i = *i;
            }
            Self::Ints(ints) => {
                attribute.r#type = AttributeType::Ints as i32;
                attribute.ints = ints.clone();
            }
        }
        attribute
    }
}

/// The nodes and initializers of a graph under construction.
#[derive(Clone, Debug, Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// Every name given to a value or an initializer.
    taken: BTreeSet<String>,
    /// The next number to try for each base name (`relu` → `relu_1`, ...).
    next: BTreeMap<String, usize>,
}

impl GraphBuilder {
    /// An empty graph whose input value is called `input` (reserved, so no node reuses it).
    pub fn new(input: &str) -> Self {
        let mut graph = Self::default();
        graph.unique(input);
        graph
    }

    /// `base` if no value has that name yet, else the first free of `base_1`, `base_2`, ...
    fn unique(&mut self, base: &str) -> String {
        let next = self.next.entry(base.to_string()).or_default();
        loop {
            let name = match *next {
                0 => base.to_string(),
                n => format!("{base}_{n}"),
            };
            *next += 1;
            if self.taken.insert(name.clone()) {
                return name;
            }
        }
    }

    /// Appends the node `op(inputs)` with `attributes`, writing one value named after
    /// `output`; returns that value's name.
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attributes: &[(&str, Attr)],
        output: &str,
    ) -> String {
        let output = self.unique(output);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op.to_string(),
            attribute: attributes
                .iter()
                .map(|(name, value)| value.proto(name))
                .collect(),
            doc_string: String::new(),
        });
        output
    }

    /// Adds the f32 constant `name` of `dims` (row-major `values`) described by `doc`;
    /// returns its name (made unique).
    pub fn initializer(&mut self, name: &str, dims: &[usize], values: &[f32], doc: &str) -> String {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, dims, FLOAT, bytes, doc)
    }

    /// Adds the int64 constant `name` of `dims` (`Reshape`'s shape); returns its name.
    pub fn int64_initializer(&mut self, name: &str, values: &[i64], doc: &str) -> String {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensor(name, &[values.len()], INT64, bytes, doc)
    }

    /// The scalar f32 constant `name` = `value`, added the first time it is asked for and
    /// shared after that.
    pub fn scalar(&mut self, name: &str, value: f32) -> String {
        if let Some(existing) = self.initializers.iter().find(|t| t.name == name) {
            return existing.name.clone();
        }
        self.initializer(name, &[], &[value], "a constant of an activation's formula")
    }

    fn tensor(
        &mut self,
        name: &str,
        dims: &[usize],
        data_type: i32,
        raw_data: Vec<u8>,
        doc: &str,
    ) -> String {
        let name = self.unique(name);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type,
            name: name.clone(),
            raw_data,
            doc_string: doc.to_string(),
        });
        name
    }

    /// The nodes (in order) and the initializers.
    pub fn finish(self) -> (Vec<NodeProto>, Vec<TensorProto>) {
        (self.nodes, self.initializers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_even_against_numbered_bases() {
        let mut graph = GraphBuilder::new("image");
        assert_eq!(graph.node("Relu", &["image"], &[], "relu"), "relu");
        assert_eq!(graph.node("Relu", &["relu"], &[], "relu_1"), "relu_1");
        // `relu` again would be `relu_1`, taken: the next free name.
        assert_eq!(graph.node("Relu", &["relu_1"], &[], "relu"), "relu_2");
        assert_eq!(graph.node("Relu", &["relu_2"], &[], "relu_2"), "relu_2_1");
        assert_eq!(graph.node("Relu", &["relu_2"], &[], "image"), "image_1");
    }

    #[test]
    fn scalars_are_shared_and_attributes_typed() {
        let mut graph = GraphBuilder::new("x");
        let a = graph.scalar("gelu.half", 0.5);
        let b = graph.scalar("gelu.half", 0.5);
        assert_eq!(a, b);
        graph.node("LeakyRelu", &["x"], &[("alpha", Attr::Float(0.3))], "y");
        let (nodes, initializers) = graph.finish();
        assert_eq!(initializers.len(), 1);
        assert_eq!(initializers[0].raw_data, 0.5f32.to_le_bytes());
        assert!(initializers[0].dims.is_empty());
        let alpha = &nodes[0].attribute[0];
        assert_eq!((alpha.r#type, alpha.f), (AttributeType::Float as i32, 0.3));
    }
}
