//! A model as data: the input shape, the number of classes and the layers in order. These types
//! are also the model file format (TOML, see the README): layer `type`s and field names are
//! Keras's.

use serde::{Deserialize, Deserializer, Serialize};

pub use crate::layers::activation::Activation;
use crate::layers::layer::Layer;
pub use crate::layers::shape::{Padding, PoolKind, Size2};
use crate::layers::{activation, batch_normalization, conv2d, dense, dropout, flatten, pool2d};

/// The registry: every layer type a model file may name, with the struct in its layer folder
/// that holds its fields. The one place that maps a spec to its layer; adding a layer is one
/// line here.
macro_rules! registry {
    ($($variant:ident => $layer:ty,)*) => {
        /// One layer of a sequential model, with Keras's meaning and defaults; in a model file a
        /// table whose `type` is the Keras class name.
        #[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
        #[serde(tag = "type")]
        pub enum LayerSpec {
            $(
                #[doc = concat!("See [`", stringify!($layer), "`].")]
                $variant($layer),
            )*
        }

        impl LayerSpec {
            /// The layer this spec describes.
            pub fn layer(&self) -> &dyn Layer {
                match self {
                    $(Self::$variant(layer) => layer,)*
                }
            }

            /// Every layer type a model file may name.
            pub const TYPES: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// The layer of type `kind` whose fields (every one but `type`) `fields` holds; the
            /// model file parser reads `type` first and then this, so that an error in a field
            /// keeps the position the deserializer gives it.
            pub fn deserialize_fields<'de, D: Deserializer<'de>>(
                kind: LayerType,
                fields: D,
            ) -> Result<Self, D::Error> {
                match kind {
                    $(LayerType::$variant => <$layer>::deserialize(fields).map(Self::$variant),)*
                }
            }
        }

        /// A layer `type` a model file may name: [`LayerSpec`]'s variants without their fields.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
        pub enum LayerType {
            $(
                #[doc = concat!("A [`", stringify!($layer), "`].")]
                $variant,
            )*
        }
    };
}

registry! {
    Conv2D => conv2d::Conv2D,
    MaxPooling2D => pool2d::MaxPooling2D,
    AveragePooling2D => pool2d::AveragePooling2D,
    Flatten => flatten::Flatten,
    Dense => dense::Dense,
    Activation => activation::ActivationLayer,
    ReLU => activation::ReLU,
    LeakyReLU => activation::LeakyReLU,
    BatchNormalization => batch_normalization::BatchNormalization,
    Dropout => dropout::Dropout,
}

impl LayerSpec {
    /// The Keras layer name stem (`conv2d`, `max_pooling2d`, `dense`, ...), used to name layers.
    pub fn kind(&self) -> &'static str {
        self.layer().kind()
    }

    /// The Keras class name (`Conv2D`, `MaxPooling2D`, ...).
    pub fn class_name(&self) -> &'static str {
        self.layer().class_name()
    }

    /// The layer's activation (`Linear` for layers without one).
    pub fn activation(&self) -> Activation {
        self.layer().activation()
    }
}

fn default_classes() -> usize {
    10
}

fn default_input() -> [usize; 3] {
    [28, 28, 1]
}

/// A sequential model.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Name (the preset's, or the file's stem when the file gives none).
    #[serde(default)]
    pub name: String,
    /// Input `[height, width, channels]` (default `[28, 28, 1]`; training sets it from the data).
    #[serde(default = "default_input")]
    pub input: [usize; 3],
    /// Number of classes the last layer must output (default 10).
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Layers in order.
    pub layers: Vec<LayerSpec>,
}
