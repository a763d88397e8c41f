# Records mclust's hierarchical partitions for tests/test_hierarchical.py (run from the repository root):
#   Rscript tests/data/mclust_hc_partitions.R > tests/data/mclust_hc_partitions.json
# mclust's defaults for Mclust: hc(modelName = "VVV", use = "SVD"), labels dropped; partitions at K = 2..9, and for
# faithful (rows that coincide, so exactly tied merges) also at K = 200 and 250. One-dimensional data (acidity, and
# a vector with ties) start from quantile classes instead (mclust's qclass, as Mclust does): "quantiles".
suppressMessages(library(mclust))
read <- function(path) { X <- read.csv(path, check.names = FALSE); as.matrix(X[, names(X) != "label"]) }
sets <- list(faithful = read("src/gaussmix/data/faithful.csv"), iris = read("tests/data/iris.csv"),
             wine = read("tests/data/wine.csv"), diabetes = read("tests/data/diabetes.csv"))
out <- c()
for (name in names(sets)) {
  X <- sets[[name]]
  K <- if (name == "faithful") c(2:9, 200, 250) else 2:9
  tree <- hc(X, modelName = "VVV", use = "SVD")
  labels <- hclass(tree, K)
  cells <- sapply(seq_along(K), function(i) sprintf('"%d": [%s]', K[i], paste(labels[, i], collapse = ",")))
  out <- c(out, sprintf('"%s": {%s}', name, paste(cells, collapse = ", ")))
}
acidity <- read("tests/data/acidity.csv")[, 1]
tied <- c(1, 1, 1, 1, 2, 2, 3, 5, 5, 5, 8, 9, 9, 9, 9, 9)
quantiles <- function(x, K) paste(sprintf('"%d": [%s]', K, sapply(K, function(k) paste(mclust:::qclass(x, k), collapse = ","))),
                                  collapse = ", ")
out <- c(out, sprintf('"quantiles": {"acidity": {%s}, "tied": {%s}}', quantiles(acidity, 2:9), quantiles(tied, 2:5)))
cat(sprintf('{"mclust": "%s", %s}\n', packageVersion("mclust"), paste(out, collapse = ", ")))
