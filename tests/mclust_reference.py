"""mclust's published outputs on the real data in tests/data and ../shared/data, copied from the sources cited.

Nothing here is computed by this project: every number is transcribed from R output printed in a
published source (R is not available on the development machines, so mclust cannot be rerun here).
mclust prints BIC in its own sign (``2 log L - p log n``, higher is better) and, in the book, with R's
``options(digits = 5)``: a table cell such as ``-2314.3`` is rounded to 0.1 (to within 0.05),
``-4796.773`` to 0.001. :func:`printed_tolerance` gives the half-unit of the last printed digit.

``None`` marks a cell that mclust printed as ``NA`` (its EM "could not be estimated as initialized",
usually a covariance becoming singular).

Sources
-------
BOOK
    L. Scrucca, C. Fraley, T. B. Murphy, A. E. Raftery (2023), *Model-Based Clustering, Classification, and
    Density Estimation Using mclust in R*, Chapman & Hall/CRC; online edition at
    https://mclust-org.github.io/mclust-book/ (stored copy read: GitHub repository
    mclust-org/mclust-org.github.io, files mclust-book/chapters/03_cluster.html, 05_dens.html and
    06_graphics.html, commit 3ac94cd111fa86c4bfdbfc98b2a583b95a403565). mclust 6.x.
VIGNETTE_5_2
    L. Scrucca, "A quick tour of mclust", the package vignette rendered for mclust 5.2, as installed with R
    3.2.3 at http://cvmfs-release01.gridpp.rl.ac.uk/cvmfsmonitor/repository/chipster.egi.eu/tools_3.16.3/R-3.2.3/lib/R/library/mclust/doc/mclust.html
VIGNETTE_5_0
    The same vignette rendered for mclust 5.0.0, inside the CRAN archive tarball
    https://mirror.dogado.de/cran/src/contrib/Archive/mclust/mclust_5.0.1.tar.gz (inst/doc/mclust.html).
RSTATISTICS
    "Gaussian Mixture Models in R: mclust Package & Model-Based Clustering",
    https://r-statistics.co/Gaussian-Mixture-Models-in-R.html (a third-party tutorial; mclust version not
    stated). Lower confidence: the clustering table it prints for faithful (40, 156, 76) does not match
    the book's (130, 97, 45) for the same model, so only its iris and faithful summary lines are used, and
    its faithful line agrees with BOOK's table to the printed digit.
"""

from __future__ import annotations

MODELS = ("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE", "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")


def _table(rows: str) -> dict[tuple[str, int], float | None]:
    """``{(model, G): value}`` from the rows of a printed mclustBIC table, columns in MODELS order."""
    cells = {}
    for line in rows.strip().splitlines():
        g, *values = line.split()
        assert len(values) == len(MODELS), line
        for model, value in zip(MODELS, values):
            cells[model, int(g)] = None if value == "NA" else float(value)
    return cells


def printed_tolerance(value: float) -> float:
    """Half a unit of the last digit printed for ``value`` (R prints 5 significant digits in BOOK)."""
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0 ** -decimals


# ------------------------------------------------------------------------------------------------ faithful
# BOOK, Example 3.4 ("BIC model selection for the Old Faithful data"): BIC = mclustBIC(faithful); BIC.
# The two printed halves (EII..VEE, EVE..VVV) are joined row by row. R datasets::faithful = faithful.csv.
FAITHFUL_BIC = _table("""
1 -4024.7 -4024.7 -3055.8 -3055.8 -3055.8 -3055.8 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6
2 -3453.0 -3458.3 -2354.6 -2350.6 -2352.6 -2346.1 -2325.2 -2323.0 -2324.3 -2320.4 -2329.1 -2325.4 -2327.6 -2322.2
3 -3377.7 -3336.6 -2323.0 -2332.7 -2332.2 -2342.4 -2314.3 -2322.1 -2342.3 -2336.3 -2325.3 -2329.6 -2340.0 -2349.7
4 -3230.3 -3242.8 -2323.7 -2331.3 -2334.7 -2343.5 -2331.2 -2340.2 -2361.8 -2362.5 -2351.5 -2361.1 -2344.7 -2351.5
5 -3149.4 -3129.1 -2327.1 -2350.2 -2347.6 -2351.0 -2360.7 -2347.3 -2351.8 -2368.9 -2356.9 -2368.1 -2364.9 -2379.4
6 -3081.4 -3038.2 -2338.2 -2360.6 -2357.7 -2373.5 -2347.4 -2372.3 -2366.5 -2386.5 -2366.1 -2386.3 -2384.1 -2387.0
7 -2990.4 -2973.4 -2356.5 -2368.5 -2372.9 -2394.7 -2369.3 -2371.2 -2379.8 -2402.2 -2379.1 -2401.3 -2398.7 -2412.4
8 -2978.1 -2935.1 -2364.1 -2384.7 -2389.1 -2413.7 -2376.1 -2390.4 -2403.9 -2426.0 -2393.0 -2425.4 -2415.0 -2442.0
9 -2953.4 -2919.4 -2372.8 -2398.2 -2407.2 -2432.7 -2389.6 -2406.7 -2414.1 -2448.2 -2407.5 -2446.7 -2438.9 -2460.4
""")
FAITHFUL_BIC_TOP3 = (("EEE", 3, -2314.3), ("VVE", 2, -2320.4), ("VEE", 3, -2322.1))  # BOOK, same output

# BOOK, Example 3.5: ICL = mclustICL(faithful); ICL (mclust's sign, higher is better).
FAITHFUL_ICL = _table("""
1 -4024.7 -4024.7 -3055.8 -3055.8 -3055.8 -3055.8 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6 -2607.6
2 -3455.8 -3460.9 -2356.3 -2350.7 -2353.3 -2346.2 -2326.7 -2323.4 -2325.8 -2320.8 -2330.0 -2325.7 -2328.2 -2322.7
3 -3422.8 -3360.3 -2359.5 -2377.3 -2367.5 -2387.7 -2357.8 -2376.5 -2412.0 -2427.0 -2372.4 -2405.3 -2380.3 -2385.2
4 -3265.8 -3272.5 -2372.0 -2413.4 -2402.2 -2436.3 -2468.3 -2452.7 -2459.4 -2440.3 -2414.2 -2419.9 -2385.8 -2407.6
5 -3190.7 -3151.9 -2394.0 -2486.7 -2412.4 -2445.8 -2478.2 -2472.0 -2444.3 -2478.6 -2431.1 -2490.2 -2423.2 -2474.5
6 -3117.4 -3061.3 -2423.0 -2486.8 -2446.9 -2472.6 -2456.2 -2503.9 -2504.8 -2489.1 -2449.6 -2481.4 -2483.8 -2491.6
7 -3022.3 -2995.8 -2476.2 -2519.8 -2446.7 -2496.7 -2464.3 -2466.8 -2499.3 -2496.3 -2465.7 -2506.8 -2490.1 -2519.5
8 -3007.4 -2953.7 -2488.5 -2513.5 -2492.3 -2509.7 -2502.2 -2479.8 -2526.0 -2516.6 -2489.4 -2539.8 -2497.8 -2556.1
9 -2989.1 -2933.1 -2499.9 -2540.4 -2515.0 -2528.6 -2547.1 -2499.9 -2545.7 -2541.7 -2542.9 -2566.7 -2528.6 -2587.2
""")
FAITHFUL_ICL_TOP3 = (("VVE", 2, -2320.8), ("VVV", 2, -2322.7), ("VEE", 2, -2323.4))  # BOOK, same output

# RSTATISTICS: summary(Mclust(faithful)) -> "EEE ... with 3 components", log-likelihood -1126.361, n 272,
# df 11, BIC -2314.386, ICL -2360.865.
FAITHFUL_BEST = {"model": "EEE", "G": 3, "log_likelihood": -1126.361, "df": 11, "bic": -2314.386,
                 "icl": -2360.865}

# ------------------------------------------------------------------------------------------------- thyroid
# BOOK, Example 3.2 ("Clustering thyroid disease data"): X = data.matrix(thyroid[, 2:6]); mod = Mclust(X);
# mod$BIC. mclust's thyroid = thyroid.csv without its label column.
THYROID_BIC = _table("""
1 -7477.4 -7477.4 -6699.7 -6699.7 -6699.7 -6699.7 -6388.4 -6388.4 -6388.4 -6388.4 -6388.4 -6388.4 -6388.4 -6388.4
2 -7265.4 -6780.9 -6399.7 -5475.4 -5446.6 -5276.3 -6231.3 -5429.6 -5286.3 -5163.6 -5354.9 -5166.4 -5241.5 -5150.8
3 -6971.3 -6404.0 -6081.2 -5471.7 -5110.3 -4777.9 -6228.4 -5273.3 -5036.4 -5453.9 -5272.8 -5181.0 -5048.4 -4809.8
4 -6726.5 -6263.1 -5972.8 -5281.3 -5146.0 -4796.8 -6260.7 -5381.4 -4974.8 -5478.8 -5129.3 -4902.6 -5061.9 -5175.3
5 -6604.0 -6077.5 -5920.8 -5248.8 -4897.4 -4810.9 -6292.6 -5276.0 -5022.6 -5474.2 -5233.9 -4972.1 NA -4959.9
6 -6574.1 -6002.9 -5893.5 -5230.1 -4945.0 -4854.6 -5946.0 -5291.6 -4932.2 -4878.3 -5290.6 -5005.4 -5141.0 -5012.5
7 -6572.8 -5967.0 -6116.2 -5250.0 -4960.5 -4860.0 -5977.3 -5279.3 -5039.8 -4888.7 -5359.3 -5209.3 -5250.2 -5096.8
8 -6500.2 -5947.6 -6065.9 -5253.0 -5003.5 -4881.4 -5924.7 -5327.2 -5086.9 -4909.7 -5376.2 -5070.9 -5347.1 -5129.7
9 -6370.8 -5904.0 -5579.3 -5244.5 -5089.2 -4876.4 -5696.2 -5273.0 NA NA -5287.7 -5091.2 NA NA
""")
# BOOK, same example: summary(mod$BIC, k = 5) and summary(mod): VVI,3, log-likelihood -2303 (printed so),
# n 215, df 32, BIC -4777.9, ICL -4784.5.
THYROID_BIC_TOP5 = (("VVI", 3, -4777.9), ("VVI", 4, -4796.773), ("VVV", 3, -4809.761), ("VVI", 5, -4810.928),
                    ("VVI", 6, -4854.644))
THYROID_BEST = {"model": "VVI", "G": 3, "log_likelihood": -2303.0, "df": 32, "bic": -4777.9, "icl": -4784.5}

# ----------------------------------------------------------------------------------------------------- wine
# BOOK, Example 3.3 ("Clustering Italian wines data"): gclus's wine (the UCI data, as sklearn's load_wine,
# 13 features in the same order): mod = Mclust(X); summary(mod$BIC, k = 3); summary(mod).
WINE_BIC_TOP3 = (("VVE", 3, -6849.4), ("EVE", 4, -6873.616), ("VVE", 4, -6885.472))
WINE_BEST = {"model": "VVE", "G": 3, "log_likelihood": -3015.3, "df": 158, "bic": -6849.4, "icl": -6850.7}

# ----------------------------------------------------------------------------------------------------- iris
# BOOK, Example 6.3: mod = Mclust(iris[, 1:4], G = 3); summary(mod) -> VEV with 3 components,
# log-likelihood -186.07, n 150, df 38, BIC -562.55, ICL -566.47 (the best of the 14 models at G = 3).
IRIS_BEST_G3 = {"model": "VEV", "G": 3, "log_likelihood": -186.07, "df": 38, "bic": -562.55, "icl": -566.47}
# RSTATISTICS: summary(Mclust(iris[, 1:4])) -> VEV with 2 components, log-likelihood -215.7259, n 150,
# df 26, BIC -561.7285, ICL -561.7289. (The BIC implies a log-likelihood of -215.72599, so the two printed
# values do not agree in their last digit; use the BIC.)
IRIS_BEST = {"model": "VEV", "G": 2, "log_likelihood": -215.7259, "df": 26, "bic": -561.7285, "icl": -561.7289}

# -------------------------------------------------------------------------------------------------- acidity
# BOOK, Example 5.2: summary(mclustBIC(acidity), k = 5), and summary(densityMclust(acidity, G = 2,
# modelNames = "E")) / (G = 3, modelNames = "V"). The book loads acidity from package BNPdensity; mclust's
# acidity (acidity.csv) holds the same 155 lake acidities.
ACIDITY_BIC_TOP5 = (("E", 2, -392.07), ("V", 3, -397.9108), ("V", 2, -399.6945), ("E", 5, -400.6745),
                    ("E", 3, -402.183))
ACIDITY_FITS = ({"model": "E", "G": 2, "log_likelihood": -185.95, "df": 4, "bic": -392.07, "icl": -398.56},
                {"model": "V", "G": 3, "log_likelihood": -178.78, "df": 8, "bic": -397.91, "icl": -458.86})

# ------------------------------------------------------------------------------------------------- diabetes
# mclust's (flawed) 3-variable diabetes = diabetes.csv: X = diabetes[, -1]; BIC = mclustBIC(X); summary(BIC),
# and summary(Mclust(X, x = BIC)). mclust 6's vignette corrects observation 104 first and the book uses
# rrcov's 5-variable version, so neither applies to this file.
DIABETES_BIC_TOP3 = {
    "5.2": (("VVV", 3, -4760.091), ("VVE", 3, -4775.53693), ("EVE", 4, -4793.26143)),  # VIGNETTE_5_2
    "5.0.0": (("VVV", 3, -4770.044), ("VVE", 3, -4785.48868), ("EVE", 4, -4803.21521)),  # VIGNETTE_5_0
}
# VIGNETTE_5_2: VVV with 3 components, log.likelihood -2307.883, n 145, df 29, BIC -4760.091, ICL -4776.086.
DIABETES_BEST = {"model": "VVV", "G": 3, "log_likelihood": -2307.883, "df": 29, "bic": -4760.091, "icl": -4776.086}
