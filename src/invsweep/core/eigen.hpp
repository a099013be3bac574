#pragma once
// The project's Eigen types, declared once. Matrices are column-major; a batch of vectors is
// stored one vector per column ([features, batch]). Never bind `auto` to an Eigen
// expression: spell out the type so the expression is evaluated where it is written.
// Eigen is a system header, but GCC 12 still reports -Wnull-dereference and
// -Wmaybe-uninitialized inside it where its code is inlined into ours (a reduction over a
// vector that might be empty); the pragma state at Eigen's own lines governs those reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

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
