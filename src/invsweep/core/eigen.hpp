#pragma once
// The project's Eigen types, declared once. Matrices are column-major; a batch of vectors is
// stored one vector per column ([features, batch]). Never bind `auto` to an Eigen
// expression: spell out the type so the expression is evaluated where it is written.
#include <Eigen/Core>

namespace invsweep {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;
template <class T>
using VectorMap = Eigen::Map<Vector<T>>;
template <class T>
using ConstVectorMap = Eigen::Map<const Vector<T>>;

using MatrixD = Matrix<double>;
using VectorD = Vector<double>;
using MatrixF = Matrix<float>;
using VectorF = Vector<float>;

using Index = Eigen::Index;

}  // namespace invsweep
