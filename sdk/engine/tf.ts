// The one place the SDK imports TensorFlow.js from. The umbrella package registers every op's
// gradient and the pure-JS cpu backend; faster backends register themselves and are chosen in
// ./backend.ts.
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor3D = tf.Tensor3D;
export type Tensor4D = tf.Tensor4D;
export type Variable = tf.Variable;
