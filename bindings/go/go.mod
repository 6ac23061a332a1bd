module toykv

go 1.24
